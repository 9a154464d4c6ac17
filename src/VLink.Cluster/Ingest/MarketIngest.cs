using System.Collections.Concurrent;
using System.Diagnostics;
using Akka;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using VLink.Cluster.Gather;
using VLink.Cluster.Hosting;
using VLink.Cluster.Protocol;
using VLink.Core.Ingest;

namespace VLink.Cluster.Ingest;

/// <summary>What a market source holds.</summary>
public enum MarketRowKind
{
    /// <summary>Trades or quotes, aggregated into bars by each market.</summary>
    Ticks,

    /// <summary>OHLC bars (or a close-only series), passed straight to the tracker.</summary>
    Bars,
}

/// <summary>How a source of market rows is ingested.</summary>
public sealed record IngestOptions
{
    /// <summary>The regime collection written (created with <see cref="NewCollection"/> when missing).</summary>
    public string Collection { get; init; } = RegimeSpec.DefaultCollection;

    /// <summary>The market of rows that name none (a single-market file); rows with a market field name their own.</summary>
    public string? Market { get; init; }

    /// <summary>The producer's name for exactly-once application; the reader's source name when null.</summary>
    public string? Source { get; init; }

    /// <summary>Ticks or bars.</summary>
    public MarketRowKind Kind { get; init; } = MarketRowKind.Ticks;

    /// <summary>CSV or NDJSON.</summary>
    public MarketFileFormat Format { get; init; } = MarketFileFormat.Csv;

    /// <summary>The price column and how many rejected rows are kept in detail (bar interval and tolerance come from the collection).</summary>
    public MarketFileOptions File { get; init; } = new();

    /// <summary>
    /// The configuration of the collection when this ingest creates it; null: the default feature set with daily bars
    /// for bar sources and one-minute bars for tick sources.
    /// </summary>
    public RegimeSpec? NewCollection { get; init; }

    /// <summary>
    /// Added to each row's line number to make its sequence number (0 for a file: the sequence is the line; an HTTP batch
    /// numbered <c>s</c> uses <c>s − 1</c>).
    /// </summary>
    public long SequenceOffset { get; init; }

    /// <summary>Rows the reader groups into one stream element.</summary>
    public int ChunkRows { get; init; } = 4096;

    /// <summary>Most rows of one market in one batch (one journal event).</summary>
    public int BatchRows { get; init; } = 32_768;

    /// <summary>
    /// Complete batches a market may hold ready while its previous batch is in flight (at least 1). The reader runs at
    /// most about (this + 2) batches per market ahead of the acknowledgements.
    /// </summary>
    public int BatchesAhead { get; init; } = 2;

    /// <summary>How long a market's partial batch waits for more rows (a slow feed) before it is sent.</summary>
    public TimeSpan BatchWindow { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Most markets in one source (one substream each).</summary>
    public int MaxMarkets { get; init; } = 4096;

    /// <summary>How long one delivery may take before it is retried.</summary>
    public TimeSpan AskTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Deliveries of one batch before the ingest fails (retries are safe: the partition skips applied rows).</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>Live counters, or null.</summary>
    public IngestProgress? Progress { get; init; }

    /// <summary>Runs before each delivery (tests slow the consumer with it).</summary>
    internal Func<string, MarketBatch, Task>? BeforeDelivery { get; init; }
}

/// <summary>A market's rows refused as a whole: an invalid market name, or a partition that refused the batch.</summary>
public sealed class MarketIngestException(string market, string reason) : Exception($"market '{market}': {reason}")
{
    /// <summary>The market.</summary>
    public string Market { get; } = market;
}

/// <summary>
/// The ingestion pipeline (Akka.Streams): a reader streams the source's rows in chunks → the stream groups them by
/// market → each market's rows are batched (<c>GroupedWeightedWithin</c>: up to <see cref="IngestOptions.BatchRows"/>
/// rows or <see cref="IngestOptions.BatchWindow"/>) → one ask at a time per market to the market's partition through
/// the shard region (<c>SelectAsync(1)</c>: batches of a market arrive in order, and a market whose partition is slow
/// holds back the reader instead of filling memory) → a sink adds up the acknowledgements. Backpressure runs end to
/// end: at most one batch per market is in flight, <see cref="IngestOptions.BatchesAhead"/> more wait ready, plus the
/// stages' small buffers.
/// </summary>
public sealed class MarketIngest
{
    private readonly VLinkNode _node;
    private readonly IMaterializer _materializer;
    private readonly ConcurrentDictionary<(string Collection, long Generation, string Key), bool> _registered = new();

    /// <summary>Ingests through <paramref name="node"/>.</summary>
    public MarketIngest(VLinkNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        _node = node;
        _materializer = node.System.Materializer(namePrefix: "market-ingest");
    }

    /// <summary>The node ingested through.</summary>
    public VLinkNode Node => _node;

    /// <summary>
    /// The regime collection <paramref name="name"/>, created with <paramref name="spec"/> when missing.
    /// </summary>
    /// <exception cref="InvalidOperationException">The collection exists and is not a regime collection, or the catalog refused it.</exception>
    public async Task<CollectionEntry> EnsureCollectionAsync(string name, RegimeSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var entry = (await _node.CatalogAsync().ConfigureAwait(false)).Find(name);
        if (entry is null)
        {
            var collection = spec.Collection(name);
            collection.Validate();
            await _node.ChangeCatalogAsync(new CreateCollection(collection)).ConfigureAwait(false);
            entry = (await _node.CatalogAsync().ConfigureAwait(false)).Find(name) ?? throw new UnknownCollectionException(name);
        }
        if (entry.Spec.Regime is null)
            throw new InvalidOperationException($"Collection '{name}' is not a regime collection; market data cannot be ingested into it.");
        return entry;
    }

    /// <summary>Reads <paramref name="stream"/> (CSV or NDJSON, ticks or bars) to its end and ingests every row.</summary>
    /// <param name="stream">The source; read to its end, not disposed.</param>
    /// <param name="sourceName">The name rejected rows carry (a file name, a feed).</param>
    /// <param name="options">How to ingest.</param>
    /// <param name="cancellationToken">Stops reading.</param>
    /// <exception cref="InvalidDataException">The header does not name a time and a price.</exception>
    /// <exception cref="MarketIngestException">A market name is invalid, or a partition refused a batch.</exception>
    public async Task<IngestReport> IngestAsync(Stream stream, string sourceName, IngestOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(options);
        var clock = Stopwatch.StartNew();
        var defaultSpec = options.NewCollection ?? RegimeSpec.Default(options.Kind == MarketRowKind.Bars ? TimeSpan.FromDays(1) : TimeSpan.FromMinutes(1));
        var entry = await EnsureCollectionAsync(options.Collection, defaultSpec).ConfigureAwait(false);
        var regime = entry.Spec.Regime!;
        var fileOptions = options.File with { BarInterval = regime.BarInterval, OutOfOrder = regime.Policy };
        var counted = new CountingStream(stream, options.Progress);
        string source = options.Source ?? sourceName;
        var report = new IngestReport(source, entry.Spec.Name, fileOptions.MaxErrorsKept);
        IngestSummary summary;
        if (options.Kind == MarketRowKind.Ticks)
        {
            using var reader = new TickReader(counted, options.Format, sourceName, fileOptions, leaveOpen: true);
            await RunAsync(Chunks(reader, source, options, static (rows, seqs, market, src) => new MarketChunk(market, new MarketBatch(src, seqs, rows, []))), entry, options, report, cancellationToken).ConfigureAwait(false);
            summary = reader.Summary;
        }
        else
        {
            using var reader = new BarReader(counted, options.Format, sourceName, fileOptions, leaveOpen: true);
            await RunAsync(Chunks(reader, source, options, static (rows, seqs, market, src) => new MarketChunk(market, new MarketBatch(src, seqs, [], rows))), entry, options, report, cancellationToken).ConfigureAwait(false);
            summary = reader.Summary;
        }
        report.AddReader(summary);
        report.Bytes = counted.Count;
        report.Elapsed = clock.Elapsed;
        return report;
    }

    /// <summary>One market's rows of one read chunk.</summary>
    private sealed record MarketChunk(string Market, MarketBatch Batch);

    private async Task RunAsync(Func<IAsyncEnumerable<MarketChunk>> chunks, CollectionEntry entry, IngestOptions options, IngestReport report, CancellationToken cancellationToken)
    {
        var kill = KillSwitches.Shared("market-ingest");
        using var registration = cancellationToken.Register(() => kill.Abort(new OperationCanceledException(cancellationToken)));
        var grouped = Source.From(chunks)
            .Via(kill.Flow<MarketChunk>())
            .Async()
            .GroupBy(options.MaxMarkets, c => c.Market)
            .GroupedWeightedWithin(options.BatchRows, int.MaxValue, options.BatchWindow, c => c.Batch.Count)
            .Select(Merge)
            // A market whose batch is being journalled keeps filling its next batches, so one busy partition does not
            // stall the reader (and with it every other market) at once; bounded, then it backpressures.
            .Buffer(options.BatchesAhead, OverflowStrategy.Backpressure)
            .SelectAsync(1, c => DeliverAsync(entry, c, options));
        var merged = (Source<(string Market, MarketIngestAck Ack, int Rows), NotUsed>)grouped.MergeSubstreams();
        await merged.RunWith(Sink.ForEach<(string Market, MarketIngestAck Ack, int Rows)>(r =>
        {
            report.Add(r.Market, r.Ack, options.SequenceOffset);
            options.Progress?.AddDelivered(r.Rows);
        }), _materializer).ConfigureAwait(false);
    }

    private static MarketChunk Merge(IEnumerable<MarketChunk> chunks)
    {
        var list = chunks as IReadOnlyList<MarketChunk> ?? [.. chunks];
        if (list.Count == 1) return list[0];
        int rows = 0;
        foreach (var c in list) rows += c.Batch.Count;
        var first = list[0].Batch;
        var sequences = new long[rows];
        var ticks = first.Ticks.Length > 0 ? new Tick[rows] : [];
        var bars = first.Bars.Length > 0 ? new Bar[rows] : [];
        int at = 0;
        foreach (var c in list)
        {
            c.Batch.Sequences.CopyTo(sequences, at);
            if (ticks.Length > 0) c.Batch.Ticks.CopyTo(ticks, at);
            if (bars.Length > 0) c.Batch.Bars.CopyTo(bars, at);
            at += c.Batch.Count;
        }
        return new MarketChunk(list[0].Market, new MarketBatch(first.Source, sequences, ticks, bars));
    }

    private async Task<(string Market, MarketIngestAck Ack, int Rows)> DeliverAsync(CollectionEntry entry, MarketChunk chunk, IngestOptions options)
    {
        string market = chunk.Market;
        var key = (entry.Spec.Name, entry.Generation, market);
        if (!_registered.ContainsKey(key))
        {
            if (!entry.Keys.Contains(market))
            {
                try
                {
                    await _node.ChangeCatalogAsync(new RegisterPartitionKey(entry.Spec.Name, market)).ConfigureAwait(false);
                }
                catch (InvalidOperationException e)
                {
                    throw new MarketIngestException(market, e.Message);
                }
            }
            _registered[key] = true;
        }
        if (options.BeforeDelivery is { } before) await before(market, chunk.Batch).ConfigureAwait(false);
        var message = new IngestMarketData(entry.Partition(market), entry.Spec, chunk.Batch);
        for (int attempt = 1; ; attempt++)
        {
            IVLinkMessage reply;
            try
            {
                reply = await _node.JournalledAskAsync(_node.Partitions, message, options.AskTimeout).ConfigureAwait(false);
            }
            catch (AskTimeoutException) when (attempt < options.MaxAttempts)
            {
                // At-least-once: the same batch again; the partition skips whatever of it was applied.
                continue;
            }
            return reply switch
            {
                MarketIngestAck ack => (market, ack, chunk.Batch.Count),
                WriteRejected rejected => throw new MarketIngestException(market, rejected.Reason),
                _ => throw new InvalidOperationException($"Unexpected ingest reply {reply.GetType().Name}."),
            };
        }
    }

    // Reads up to ChunkRows rows, splits them by market (keeping each market's order) and hands the pieces on.
    private static Func<IAsyncEnumerable<MarketChunk>> Chunks<T>(MarketFileReader<T> reader, string source, IngestOptions options,
        Func<T[], long[], string, string, MarketChunk> make) where T : struct
    {
        return () => Read(CancellationToken.None);

        async IAsyncEnumerable<MarketChunk> Read([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var byMarket = new Dictionary<string, (List<T> Rows, List<long> Sequences)>(StringComparer.Ordinal);
            int pending = 0;
            while (true)
            {
                T? row = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                if (row is T value)
                {
                    string market = reader.LastRowMarket ?? options.Market
                        ?? throw new InvalidDataException($"{reader.Source}:{reader.LastRowLine}: the row names no market; name one for the source or add a market column.");
                    if (!byMarket.TryGetValue(market, out var rows))
                    {
                        rows = (new List<T>(Math.Min(options.ChunkRows, 1024)), new List<long>(Math.Min(options.ChunkRows, 1024)));
                        byMarket[market] = rows;
                    }
                    rows.Rows.Add(value);
                    rows.Sequences.Add(reader.LastRowLine + options.SequenceOffset);
                    if (++pending < options.ChunkRows) continue;
                }
                foreach (var (market, rows) in byMarket)
                {
                    if (rows.Rows.Count == 0) continue;
                    yield return make([.. rows.Rows], [.. rows.Sequences], market, source);
                    rows.Rows.Clear();
                    rows.Sequences.Clear();
                }
                options.Progress?.AddRead(pending);
                pending = 0;
                if (row is null) yield break;
            }
        }
    }

    /// <summary>Counts the bytes read through it.</summary>
    private sealed class CountingStream(Stream inner, IngestProgress? progress) : Stream
    {
        public long Count { get; private set; }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => Count; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Counted(inner.Read(buffer, offset, count));

        public override int Read(Span<byte> buffer) => Counted(inner.Read(buffer));

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Counted(await inner.ReadAsync(buffer.AsMemory(offset, count), cancellationToken).ConfigureAwait(false));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Counted(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private int Counted(int n)
        {
            Count += n;
            progress?.AddBytes(n);
            return n;
        }
    }
}
