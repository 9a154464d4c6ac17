using System.Net;
using System.Text.Json;
using ByteString = Akka.IO.ByteString;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.IO;

namespace VLink.Cluster.Ingest;

/// <summary>
/// A TCP line feed of market rows (Akka.Streams TCP). Each connection is one producer, named
/// <c>tcp:{remote address}</c>: it sends CSV (header line first) or NDJSON lines in the feed's format, and every line
/// goes through the same pipeline as a file (line numbers are the sequence numbers). When the client closes its
/// sending side, the server answers one JSON line — the ingest summary, or <c>{"error": …}</c> — and closes.
/// A feed bound with a key check wants <c>api-key KEY</c> as the connection's first line (rows are then counted from
/// the line after it); a connection without an accepted key is answered with an error and ingests nothing.
/// </summary>
public sealed class TcpMarketFeed : IAsyncDisposable
{
    private readonly Tcp.ServerBinding _binding;

    private TcpMarketFeed(Tcp.ServerBinding binding) => _binding = binding;

    /// <summary>The address the feed listens at.</summary>
    public EndPoint LocalAddress => _binding.LocalAddress;

    /// <summary>Starts listening at <paramref name="host"/>:<paramref name="port"/> (0: any free port).</summary>
    /// <param name="ingest">The pipeline each connection runs.</param>
    /// <param name="host">The interface to listen on.</param>
    /// <param name="port">The port, or 0.</param>
    /// <param name="options">How each connection's rows are ingested (its <see cref="IngestOptions.Source"/> is the remote address).</param>
    /// <param name="authorize">Checks the key of a connection's first line; null: no key line is expected.</param>
    public static async Task<TcpMarketFeed> BindAsync(MarketIngest ingest, string host, int port, IngestOptions options, Func<string, bool>? authorize = null)
    {
        ArgumentNullException.ThrowIfNull(ingest);
        ArgumentNullException.ThrowIfNull(options);
        var system = ingest.Node.System;
        var materializer = system.Materializer(namePrefix: "market-feed");
        var binding = await system.TcpStream()
            .Bind(host, port, halfClose: true)
            .To(Sink.ForEach<Tcp.IncomingConnection>(connection => Accept(ingest, connection, options, authorize, materializer)))
            .Run(materializer)
            .ConfigureAwait(false);
        return new TcpMarketFeed(binding);
    }

    private static void Accept(MarketIngest ingest, Tcp.IncomingConnection connection, IngestOptions options, Func<string, bool>? authorize, IMaterializer materializer)
    {
        var answer = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var handler = Flow.FromSinkAndSource(
            StreamConverters.AsInputStream(TimeSpan.FromMinutes(10)),
            Source.FromTask(answer.Task).Select(line => ByteString.FromString(line + "\n")),
            Keep.Left);
        var input = connection.HandleWith(handler, materializer);
        string source = "tcp:" + connection.RemoteAddress;
        _ = Task.Run(async () =>
        {
            try
            {
                if (authorize is not null)
                {
                    string? first = ReadKeyLine(input);
                    string key = first is not null && first.StartsWith("api-key", StringComparison.OrdinalIgnoreCase) ? first[7..].TrimStart(':', ' ', '\t').Trim() : "";
                    if (key.Length == 0 || !authorize(key))
                    {
                        answer.TrySetResult(JsonSerializer.Serialize(new { error = "the first line must be 'api-key KEY' with a key that may write" }));
                        return;
                    }
                }
                var report = await ingest.IngestAsync(input, source, options with { Source = options.Source ?? source }).ConfigureAwait(false);
                answer.TrySetResult(report.ToJson());
            }
            catch (Exception e) when (e is InvalidDataException or MarketIngestException or InvalidOperationException or IOException or TimeoutException)
            {
                answer.TrySetResult(JsonSerializer.Serialize(new { error = e.Message }));
            }
            finally
            {
                await input.DisposeAsync().ConfigureAwait(false);
            }
        });
    }

    // One line, byte by byte, so nothing after it is consumed; at most 4 KiB.
    private static string? ReadKeyLine(Stream input)
    {
        var bytes = new List<byte>(64);
        while (bytes.Count < 4096)
        {
            int b = input.ReadByte();
            if (b < 0) return null;
            if (b == '\n') return System.Text.Encoding.UTF8.GetString([.. bytes]).TrimEnd('\r');
            bytes.Add((byte)b);
        }
        return null;
    }

    /// <summary>Stops accepting connections (open ones finish).</summary>
    public async ValueTask DisposeAsync() => await _binding.Unbind().ConfigureAwait(false);
}
