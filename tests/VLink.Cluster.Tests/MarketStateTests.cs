using VLink.Cluster.Partitions;
using VLink.Cluster.Protocol;
using VLink.Core.Ingest;
using VLink.Core.Regimes;

namespace VLink.Cluster.Tests;

/// <summary>The market half of a partition's state, without an ActorSystem: replay, snapshots, lookups.</summary>
public sealed class MarketStateTests
{
    private static readonly RegimeFeatureSet Small = new()
    {
        Window = 8, ReturnHorizons = [1, 4], VolatilityHorizons = [4], ShortHorizon = 4, OutcomeHorizons = [2, 3],
    };

    private static readonly CollectionSpec Spec = new RegimeSpec(Small.Id, TimeSpan.FromMinutes(1).Ticks, TimeSpan.FromSeconds(5).Ticks).Collection("m");

    private static readonly long T0 = new DateTime(2024, 2, 1, 0, 0, 0, DateTimeKind.Utc).Ticks;

    /// <summary>Batches of ticks every 15 s, a few slightly out of order (within the 5 s tolerance), one far behind.</summary>
    private static List<MarketBatch> Batches()
    {
        var rng = new Random(3);
        var batches = new List<MarketBatch>();
        double price = 100;
        long seq = 0;
        for (int b = 0; b < 6; b++)
        {
            var ticks = new List<Tick>();
            var seqs = new List<long>();
            for (int i = 0; i < 40; i++)
            {
                long n = b * 40 + i;
                price *= Math.Exp(0.002 * (rng.NextDouble() - 0.5));
                long time = T0 + n * 15 * TimeSpan.TicksPerSecond - (i % 7 == 3 ? 3 * TimeSpan.TicksPerSecond + 15 * TimeSpan.TicksPerSecond : 0);
                if (b == 4 && i == 10) time = T0; // far behind: refused
                ticks.Add(new Tick(time, price, rng.Next(1, 9)));
                seqs.Add(seq += 1 + rng.Next(3));
            }
            batches.Add(new MarketBatch("feed", [.. seqs], [.. ticks], []));
        }
        return batches;
    }

    private static PartitionState Replay(IEnumerable<MarketBatch> batches, PartitionState? state = null)
    {
        state ??= PartitionState.Create(Spec);
        foreach (var batch in batches) state.Apply(new MarketDataIngested(batch), "MKT");
        return state;
    }

    private static void AssertSame(PartitionState expected, PartitionState actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        var ids = expected.Index.Ids().Order().ToList();
        Assert.Equal(ids, actual.Index.Ids().Order());
        foreach (var id in ids)
        {
            Assert.Equal(expected.Index.GetVector(id), actual.Index.GetVector(id));
            Assert.Equal(expected.Payload(id), actual.Payload(id));
        }
        Assert.Equal(expected.Market!.ToBytes(), actual.Market!.ToBytes());
    }

    [Fact]
    public void Replaying_the_same_batches_gives_the_same_vectors_payloads_and_state()
    {
        var a = Replay(Batches());
        var b = Replay(Batches());

        AssertSame(a, b);
        Assert.True(a.Count > 0);
        Assert.Equal(1, a.Market!.Rejected);
        Assert.Equal(a.Market.Watermarks["feed"], Batches()[^1].Sequences[^1]);
    }

    [Fact]
    public void A_snapshot_in_the_middle_then_the_rest_equals_the_whole_replay()
    {
        var batches = Batches();
        var whole = Replay(batches);

        for (int cut = 1; cut < batches.Count; cut++)
        {
            var first = Replay(batches.Take(cut));
            var restored = PartitionState.FromSnapshot(first.ToSnapshot());
            Replay(batches.Skip(cut), restored);

            AssertSame(whole, restored);
        }
    }

    [Fact]
    public void The_vector_at_a_time_is_the_window_of_the_latest_bar_started_by_then()
    {
        var state = Replay(Batches());
        var ends = state.Market!.WindowEnds;
        Assert.Equal(ends.Order(), ends);
        long minute = TimeSpan.TicksPerMinute;

        // A time inside the bar that ends a window finds that window; a time before the first window finds none.
        Assert.Equal(ends[3], state.Market.WindowEndAt(ends[3] - minute + 1));
        Assert.Equal(ends[3], state.Market.WindowEndAt(ends[3] - 1));
        Assert.Equal(ends[^1], state.Market.WindowEndAt(long.MaxValue - 1));
        Assert.Null(state.Market.WindowEndAt(ends[0] - minute - 1));
    }

    [Fact]
    public void A_damaged_market_state_is_refused()
    {
        byte[] bytes = Replay(Batches()).Market!.ToBytes();

        Assert.Throws<InvalidDataException>(() => MarketState.FromBytes(bytes[..^3]));
        Assert.Throws<InvalidDataException>(() => MarketState.FromBytes([.. bytes, 0]));
        var wrongMagic = (byte[])bytes.Clone();
        wrongMagic[0] ^= 0xFF;
        Assert.Throws<InvalidDataException>(() => MarketState.FromBytes(wrongMagic));
    }
}

public sealed class RegimePayloadEditTests
{
    [Fact]
    public void Setting_outcomes_in_one_pass_equals_a_payload_set_of_the_same_keys()
    {
        byte[] current = System.Text.Encoding.UTF8.GetBytes(
            """{"market":"東京","bar":7,"nested":{"a":[1,2]},"fwd_ret_5":null,"fwd_vol_5":null,"fwd_ret_20":null,"fwd_vol_20":null,"note":"x"}""");
        OutcomeUpdate[] outcomes = [new(7, 100, 5, -0.0123, 0.0045), new(7, 100, 20, 0.5, 1e-9)];

        byte[] fast = PayloadEdits.SetNumbers(current, outcomes, 0, 2);
        byte[] slow = PayloadEdits.Apply(PayloadChangeKind.Set, PayloadEdits.Apply(PayloadChangeKind.Set, current,
            RegimePoints.OutcomePayload(outcomes[0]), [])!, RegimePoints.OutcomePayload(outcomes[1]), [])!;

        // The same values; the one-pass form keeps the stored bytes of the other fields as they were.
        Assert.True(System.Text.Json.Nodes.JsonNode.DeepEquals(System.Text.Json.Nodes.JsonNode.Parse(slow), System.Text.Json.Nodes.JsonNode.Parse(fast)));
        Assert.Contains("東京", System.Text.Encoding.UTF8.GetString(fast));
        // A payload as RegimePoints writes it comes out byte for byte as the JSON path writes it.
        var vector = new RegimeVector("東京", 70, 1000, 2000, 101.5, 0.01, new float[15]);
        byte[] written = RegimePoints.Payload(vector, RegimeFeatureSet.Default);
        Assert.Equal(
            System.Text.Encoding.UTF8.GetString(PayloadEdits.Apply(PayloadChangeKind.Set, PayloadEdits.Apply(PayloadChangeKind.Set, written,
                RegimePoints.OutcomePayload(outcomes[0]), [])!, RegimePoints.OutcomePayload(outcomes[1]), [])!),
            System.Text.Encoding.UTF8.GetString(PayloadEdits.SetNumbers(written, outcomes, 0, 2)));
        // A key that appears twice (here also nested) is set at the top level only, through the JSON path.
        byte[] twice = """{"fwd_ret_20":null,"nested":{"fwd_ret_20":null},"fwd_vol_20":null}"""u8.ToArray();
        byte[] twiceSlow = PayloadEdits.Apply(PayloadChangeKind.Set, twice, RegimePoints.OutcomePayload(outcomes[1]), [])!;
        Assert.Equal(System.Text.Encoding.UTF8.GetString(twiceSlow), System.Text.Encoding.UTF8.GetString(PayloadEdits.SetNumbers(twice, outcomes, 1, 2)));
        Assert.Contains("\"nested\":{\"fwd_ret_20\":null}", System.Text.Encoding.UTF8.GetString(twiceSlow));
        // Many values format as the JSON writer formats them.
        var rng = new Random(5);
        for (int i = 0; i < 1000; i++)
        {
            var o = new OutcomeUpdate(1, 2, 5, (rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-12, 12)), rng.NextDouble() * Math.Pow(10, rng.Next(-12, 3)));
            Assert.Equal(
                System.Text.Encoding.UTF8.GetString(PayloadEdits.Apply(PayloadChangeKind.Set, written, RegimePoints.OutcomePayload(o), [])!),
                System.Text.Encoding.UTF8.GetString(PayloadEdits.SetNumbers(written, [o], 0, 1)));
        }
        // Keys the payload lacks are added at the end.
        byte[] added = PayloadEdits.SetNumbers("""{"market":"A"}"""u8.ToArray(), outcomes, 1, 2);
        Assert.Equal("""{"market":"A","fwd_ret_20":0.5,"fwd_vol_20":1E-09}""", System.Text.Encoding.UTF8.GetString(added));
    }
}
