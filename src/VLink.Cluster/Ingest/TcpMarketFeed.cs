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
    public static async Task<TcpMarketFeed> BindAsync(MarketIngest ingest, string host, int port, IngestOptions options)
    {
        ArgumentNullException.ThrowIfNull(ingest);
        ArgumentNullException.ThrowIfNull(options);
        var system = ingest.Node.System;
        var materializer = system.Materializer(namePrefix: "market-feed");
        var binding = await system.TcpStream()
            .Bind(host, port, halfClose: true)
            .To(Sink.ForEach<Tcp.IncomingConnection>(connection => Accept(ingest, connection, options, materializer)))
            .Run(materializer)
            .ConfigureAwait(false);
        return new TcpMarketFeed(binding);
    }

    private static void Accept(MarketIngest ingest, Tcp.IncomingConnection connection, IngestOptions options, IMaterializer materializer)
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

    /// <summary>Stops accepting connections (open ones finish).</summary>
    public async ValueTask DisposeAsync() => await _binding.Unbind().ConfigureAwait(false);
}
