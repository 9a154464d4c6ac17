using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace VLink.Server.Tests;

/// <summary>A multi-megabyte import on a server whose body cap is 1 MiB: the import streams past it, batch by batch.</summary>
public sealed class StreamedImportTests : IAsyncLifetime
{
    private const int Dim = 64;
    private const int Total = 12_000;
    private const int PauseAfter = 3_500;

    private readonly string _data = Directory.CreateTempSubdirectory("vlink-import-test-").FullName;
    private ServerNode? _node;

    public async Task InitializeAsync() => _node = await ServerNode.StartAsync(_data, new Dictionary<string, string?>
    {
        ["VLink:AuthEnabled"] = "false",
        ["VLink:MaxBodyBytes"] = (1 << 20).ToString(CultureInfo.InvariantCulture),
    });

    public async Task DisposeAsync()
    {
        if (_node is not null) await _node.DisposeAsync();
        ServerNode.DeleteFolder(_data);
    }

    private static string Line(int i)
    {
        var rng = new Random(i);
        return "{\"id\":" + i + ",\"vector\":[" + string.Join(",", Enumerable.Range(0, Dim).Select(_ => (rng.NextDouble() * 2 - 1).ToString("R", CultureInfo.InvariantCulture))) + "]}";
    }

    [Fact]
    public async Task A_multi_megabyte_body_is_written_batch_by_batch_while_it_still_arrives()
    {
        var client = _node!.ClientWith(null, followRedirects: false);
        await Api.CreateCollection(client, "streamed", Dim, "Euclid", shards: 4);
        var observer = _node.ClientWith(null);
        long seenWhilePaused = -1;
        var content = new PausingContent(Total, PauseAfter, Line, async () =>
        {
            // The body has stopped half way: the batches before the pause must already be in the collection.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (true)
            {
                var count = await Api.Ok(await Api.Send(observer, HttpMethod.Post, "/collections/streamed/points/count", """{"exact":true}"""));
                seenWhilePaused = (long)count["result"]!["count"]!;
                if (seenWhilePaused >= 3_000 || DateTime.UtcNow > deadline) return;
                await Task.Delay(100);
            }
        });
        var response = await client.PostAsync("/collections/streamed/points/import?batch_size=1000", content);
        var result = (await Api.Ok(response))["result"]!;

        Assert.Equal(3_000, seenWhilePaused);
        Assert.True(content.BytesSent > 5 * (1 << 20), $"{content.BytesSent} bytes");
        Assert.Equal(Total, (long)result["imported"]!);
        Assert.Equal(Total, (long)result["lines"]!);
        Assert.Equal(12, (int)result["batches"]!);
        var count = await Api.Ok(await Api.Send(client, HttpMethod.Post, "/collections/streamed/points/count", """{"exact":true}"""));
        Assert.Equal(Total, (long)count["result"]!["count"]!);

        // An ordinary request is still held to the 1 MiB cap.
        var big = new JsonObject { ["points"] = new JsonArray([.. Enumerable.Range(1, 2000).Select(i => JsonNode.Parse(Line(i)))]) };
        await Api.Problem(await Api.Send(client, HttpMethod.Put, "/collections/streamed/points", big), HttpStatusCode.RequestEntityTooLarge, "body");
    }

    /// <summary>An NDJSON body of unknown length that stops after some lines until a check has run.</summary>
    private sealed class PausingContent(int total, int pauseAfter, Func<int, string> line, Func<Task> whilePaused) : HttpContent
    {
        public long BytesSent { get; private set; }

        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            for (int i = 1; i <= total; i++)
            {
                byte[] bytes = Encoding.UTF8.GetBytes(line(i) + "\n");
                await stream.WriteAsync(bytes);
                BytesSent += bytes.Length;
                if (i == pauseAfter)
                {
                    await stream.FlushAsync();
                    await whilePaused();
                }
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
