using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using VLink.Cluster.Hosting;
using VLink.Cluster.Protocol;
using VLink.Cluster.Sharding;
using VLink.Core.Indexing;

namespace VLink.Server.Tests;

/// <summary>
/// The read routes' <c>timeout</c> and <c>require_complete</c> parameters against a node with one slow partition. Reads
/// never wait behind a partition's writes, but its seal is journalled with <c>Persist</c>, which holds every message until
/// the journal answers: the test holds the journal's answers to that partition (<see cref="HeldJournal"/>), seals it, and
/// the partition answers nothing until the test lets the journal answer. Every read answers by its timeout with the other partitions' points,
/// <c>complete: false</c> and the slow partition named; with <c>require_complete=true</c> it is a 503 naming it.
/// </summary>
public sealed class ReadDeadlineApiTests : IAsyncDisposable
{
    private const string Name = "deadline";
    private readonly string _data = Directory.CreateTempSubdirectory("vlink-deadline-api-").FullName;

    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["VLink:AuthEnabled"] = "false",
        // The journal's breaker does not fail the held seal while the test holds it.
        ["VLink:ExtraHocon"] = """
            akka.loglevel = WARNING
            vlink.gather.timeout = 5s
            akka.persistence.journal.sql.class = "VLink.Testing.HeldJournal, VLink.Testing"
            akka.persistence.journal.sql.circuit-breaker.call-timeout = 60s
            """,
    };

    public ValueTask DisposeAsync()
    {
        ServerNode.DeleteFolder(_data);
        return ValueTask.CompletedTask;
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("soon")]
    [InlineData("3601")]
    public async Task A_bad_timeout_is_a_400_naming_it_on_every_read_route(string timeout)
    {
        await using var server = await ServerNode.StartAsync(_data, Settings);
        var http = server.ClientWith(null);
        await DataApi.Seed(http, Name, 8);
        foreach (var (method, path, body) in Routes())
            await Api.Problem(await Api.Send(http, method, $"{path}?timeout={timeout}", body), HttpStatusCode.BadRequest, "timeout");
        await Api.Problem(await Api.Send(http, HttpMethod.Post, $"/collections/{Name}/points/count?require_complete=maybe", "{}"), HttpStatusCode.BadRequest, "require_complete");
    }

    private static IEnumerable<(HttpMethod Method, string Path, string? Body)> Routes() =>
    [
        (HttpMethod.Post, $"/collections/{Name}/points/search", """{"vector":[1,0],"limit":3}"""),
        (HttpMethod.Post, $"/collections/{Name}/points/search/batch", """{"searches":[{"vector":[1,0],"limit":3}]}"""),
        (HttpMethod.Post, $"/collections/{Name}/points/query", """{"query":[1,0],"limit":3}"""),
        (HttpMethod.Post, $"/collections/{Name}/points/query/batch", """{"searches":[{"query":[1,0],"limit":3}]}"""),
        (HttpMethod.Post, $"/collections/{Name}/points/scroll", """{"limit":3}"""),
        (HttpMethod.Post, $"/collections/{Name}/points/count", "{}"),
        (HttpMethod.Post, $"/collections/{Name}/points", """{"ids":[1,2]}"""),
        (HttpMethod.Get, $"/collections/{Name}/points/1", null),
        (HttpMethod.Post, $"/collections/{Name}/search/text", """{"query":"x","methods":["semantic"]}"""),
        (HttpMethod.Post, "/regimes/search", """{"vector":[1],"k":3}"""),
    ];

    [Fact]
    public async Task One_slow_partition_makes_answers_partial_by_the_timeout_or_a_503_when_complete_is_required()
    {
        await using var server = await ServerNode.StartAsync(_data, Settings);
        var http = server.ClientWith(null);
        await DataApi.Seed(http, Name, 40);
        var node = server.Services.GetRequiredService<VLinkNode>();
        var entry = (await node.CatalogAsync()).Find(Name)!;
        var slow = entry.Partition(HashPartitioner.KeyOf(new PointId(7UL), 4));
        ulong fast = Enumerable.Range(1, 40).Select(i => (ulong)i).First(i => HashPartitioner.KeyOf(new PointId(i), 4) != slow.Key);
        // Warm: every partition started, the catalog cached.
        Assert.True((bool)(await DataApi.Ok(http, $"/collections/{Name}/points/search", """{"vector":[1,0],"limit":3}"""))["complete"]!);

        using var journal = HeldJournal.Hold(slow.PersistenceId);
        var held = node.Partitions.Ask<IVLinkMessage>(new SealPartition(slow), TimeSpan.FromSeconds(60));
        await Assert.ThrowsAsync<AskTimeoutException>(() => node.Partitions.Ask<PartitionStats>(new GetPartitionStats(slow), TimeSpan.FromSeconds(1)));

        string[] missing = [slow.EntityId];
        var partial = new (string Path, string Body)[]
        {
            ($"/collections/{Name}/points/search?timeout=1", """{"vector":[7,0],"limit":5,"with_payload":true}"""),
            ($"/collections/{Name}/points/search/batch?timeout=1", """{"searches":[{"vector":[7,0],"limit":5},{"vector":[20,0],"limit":5}]}"""),
            ($"/collections/{Name}/points/query?timeout=1", """{"query":[7,0],"limit":5}"""),
            ($"/collections/{Name}/points/scroll?timeout=1", """{"limit":100}"""),
            ($"/collections/{Name}/points/count?timeout=1", """{"exact":true}"""),
            ($"/collections/{Name}/points?timeout=1", """{"ids":[7,8,9,10,11,12]}"""),
        };
        var answers = partial.Select(async r =>
        {
            var clock = Stopwatch.StartNew();
            var body = await DataApi.Ok(http, r.Path, r.Body);
            return (r.Path, Body: body, Elapsed: clock.Elapsed);
        }).ToList();
        var required = Api.Send(http, HttpMethod.Post, $"/collections/{Name}/points/search?timeout=1&require_complete=true", """{"vector":[7,0],"limit":5}""");
        var pointInSlow = Api.Send(http, HttpMethod.Get, $"/collections/{Name}/points/7?timeout=1");
        var pointElsewhere = Api.Send(http, HttpMethod.Get, $"/collections/{Name}/points/{fast}?timeout=1");
        await Task.WhenAll([.. answers, required, pointInSlow, pointElsewhere]);
        var done = await Task.WhenAll(answers);

        foreach (var (path, body, elapsed) in done)
        {
            Assert.False((bool)body["complete"]!, path);
            Assert.Equal(missing, body["missing_partitions"]!.AsArray().Select(p => (string)p!));
            Assert.True(elapsed < TimeSpan.FromMilliseconds(1100), $"{path} answered after {elapsed}");
        }
        var search = done[0].Body["result"]!.AsArray();
        Assert.Equal(5, search.Count);
        Assert.All(search, p => Assert.NotEqual(slow.Key, HashPartitioner.KeyOf(new PointId((ulong)p!["id"]!), 4)));
        Assert.All(search, p => Assert.NotNull(p!["payload"]));
        long count = (long)done[4].Body["result"]!["count"]!;
        Assert.InRange(count, 1, 39);
        Assert.Equal(count, done[3].Body["result"]!["points"]!.AsArray().Count);

        var problem = JsonNode.Parse(await (await required).Content.ReadAsStringAsync())!;
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await required).StatusCode);
        Assert.Equal(missing, problem["missing_partitions"]!.AsArray().Select(p => (string)p!));
        // Whether point 7 exists cannot be said while its partition is silent: 503 naming it, not 404.
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await pointInSlow).StatusCode);
        Assert.Equal(missing, JsonNode.Parse(await (await pointInSlow).Content.ReadAsStringAsync())!["missing_partitions"]!.AsArray().Select(p => (string)p!));
        var elsewhere = await Api.Ok(await pointElsewhere);
        Assert.True((bool)elsewhere["complete"]!);

        journal.Dispose();
        Assert.IsType<WriteAck>(await held);
        Assert.True((bool)(await DataApi.Ok(http, $"/collections/{Name}/points/count?timeout=1&require_complete=true", "{}"))["complete"]!);
    }
}
