using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;
using VLink.Cluster.Hosting;
using VLink.Cluster.Protocol;
using VLink.Core.Indexing;
using VLink.Core.Vectors;
using VLink.Server.Hosting;

namespace VLink.Server.Api;

/// <summary>
/// Points in bulk, streamed both ways as NDJSON (one point object a line, as in an upsert) or CSV
/// (<c>id,x0,...,x(d-1)</c>): <c>POST /collections/{name}/points/import</c> reads the body line by line and writes
/// it in validated batches; <c>GET /collections/{name}/points/export</c> writes every point page by page in the same
/// formats, so an export imports back unchanged.
/// </summary>
public static class TransferEndpoints
{
    /// <summary>Points per import batch (and per export page) unless <c>batch_size</c> says otherwise.</summary>
    public const int DefaultBatchSize = 1000;

    /// <summary>The largest <c>batch_size</c>.</summary>
    public const int MaxBatchSize = 10_000;

    /// <summary>NDJSON's media type.</summary>
    public const string NdjsonType = "application/x-ndjson";

    /// <summary>CSV's media type.</summary>
    public const string CsvType = "text/csv";

    private static readonly byte[] Utf8Bom = [0xEF, 0xBB, 0xBF];

    /// <summary>Maps the import (write key; no body cap, the body is streamed) and export (read key) routes.</summary>
    public static IEndpointRouteBuilder MapTransferEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/collections/{name}/points/import", ImportAsync)
            .RequireRole(VLinkRole.Write)
            .WithMetadata(Unlimited.Instance);
        app.MapGet("/collections/{name}/points/export", ExportAsync)
            .RequireRole(VLinkRole.Read)
            .Produces<string>(StatusCodes.Status200OK, NdjsonType, CsvType);
        return app;
    }

    private enum Format
    {
        Ndjson,
        Csv,
    }

    private static async Task<IResult> ImportAsync(
        string name, HttpRequest request, VLinkNode node, IOptions<VLinkServerOptions> options, Embeddings.EmbeddingProviders providers, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var format = QueryFormat(request) ?? BodyFormat(request);
        int batchSize = BatchSize(request);
        var spec = (await CollectionEndpoints.FindAsync(node, name).ConfigureAwait(false)).Spec;
        var import = new Import(node, spec, format, batchSize, options.Value.MaxBodyBytes, providers);
        try
        {
            await import.RunAsync(request.BodyReader, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            OperationLog.Points(request.HttpContext, import.Imported);
        }
        return Envelope.Ok(new JsonObject { ["imported"] = import.Imported, ["lines"] = import.Lines, ["batches"] = import.Batches }, clock);
    }

    private static async Task ExportAsync(string name, HttpRequest request, HttpResponse response, VLinkNode node, CancellationToken cancellationToken)
    {
        var format = QueryFormat(request) ?? Format.Ndjson;
        int pageSize = BatchSize(request);
        bool withPayload = true;
        if (request.Query.TryGetValue("with_payload", out var values) && !bool.TryParse(values.ToString(), out withPayload))
            throw ApiException.BadField("with_payload", "expected true or false");
        withPayload &= format == Format.Ndjson;
        var spec = (await CollectionEndpoints.FindAsync(node, name).ConfigureAwait(false)).Spec;

        // The first page is read before the answer starts, so a failure there is still problem details; a later
        // failure aborts the stream, and the client sees a broken transfer rather than a short file.
        var page = await node.ScrollAsync(name, null, null, pageSize, withVector: true, withPayload).ConfigureAwait(false);
        response.ContentType = format == Format.Csv ? CsvType + "; charset=utf-8" : NdjsonType + "; charset=utf-8";
        response.Headers.ContentDisposition = $"attachment; filename=\"{name}.{(format == Format.Csv ? "csv" : "ndjson")}\"";
        var output = response.BodyWriter;
        using var json = new Utf8JsonWriter(output);
        if (format == Format.Csv) WriteCsvHeader(output, spec.Dimension);
        while (true)
        {
            foreach (var point in page.Points)
            {
                if (format == Format.Csv) WriteCsvLine(output, point);
                else WriteJsonLine(json, output, point, withPayload);
            }
            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (page.NextOffset is not { } next) break;
            page = await node.ScrollAsync(name, null, next, pageSize, withVector: true, withPayload).ConfigureAwait(false);
        }
    }

    private static Format? QueryFormat(HttpRequest request)
    {
        if (!request.Query.TryGetValue("format", out var values)) return null;
        return values.ToString().ToLowerInvariant() switch
        {
            "ndjson" or "jsonl" => Format.Ndjson,
            "csv" => Format.Csv,
            _ => throw ApiException.BadField("format", "expected ndjson or csv"),
        };
    }

    private static Format BodyFormat(HttpRequest request)
    {
        string? type = request.ContentType is null ? null : Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(request.ContentType, out var parsed)
            ? parsed.MediaType.Value?.ToLowerInvariant()
            : "";
        return type switch
        {
            null or NdjsonType or "application/ndjson" or "application/jsonl" or "application/json" => Format.Ndjson,
            CsvType => Format.Csv,
            _ => throw new ApiException(StatusCodes.Status415UnsupportedMediaType, "Content-Type",
                $"Content-Type: expected {NdjsonType} or {CsvType} (or ?format=ndjson|csv), got {request.ContentType}"),
        };
    }

    private static int BatchSize(HttpRequest request)
    {
        if (!request.Query.TryGetValue("batch_size", out var values)) return DefaultBatchSize;
        if (!int.TryParse(values.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out int size) || size is < 1 or > MaxBatchSize)
            throw ApiException.BadField("batch_size", string.Create(CultureInfo.InvariantCulture, $"must be an integer between 1 and {MaxBatchSize}, got '{values}'"));
        return size;
    }

    private static void WriteJsonLine(Utf8JsonWriter json, PipeWriter output, PointRecord point, bool withPayload)
    {
        json.Reset(output);
        json.WriteStartObject();
        json.WritePropertyName("id");
        if (point.Id.IsNumber) json.WriteNumberValue(point.Id.Number);
        else json.WriteStringValue(point.Id.Text);
        json.WriteStartArray("vector");
        foreach (float f in point.Vector!) json.WriteNumberValue(f);
        json.WriteEndArray();
        if (withPayload && point.Payload is { Length: > 0 } payload)
        {
            json.WritePropertyName("payload");
            json.WriteRawValue(payload, skipInputValidation: true);
        }
        if (withPayload && point.Document is { } document) json.WriteString("document", document);
        json.WriteEndObject();
        json.Flush();
        output.Write("\n"u8);
    }

    private static void WriteCsvHeader(PipeWriter output, int dimension)
    {
        var header = new StringBuilder("id");
        for (int i = 0; i < dimension; i++) header.Append(CultureInfo.InvariantCulture, $",x{i}");
        header.Append('\n');
        output.Write(Encoding.UTF8.GetBytes(header.ToString()));
    }

    private static void WriteCsvLine(PipeWriter output, PointRecord point)
    {
        var vector = point.Vector!;
        // 36 bytes hold any id; a float in its shortest round-trip form needs at most 15 bytes, plus the comma.
        var span = output.GetSpan(40 + vector.Length * 16);
        int at = 0;
        if (point.Id.IsNumber)
        {
            point.Id.Number.TryFormat(span, out int n, default, CultureInfo.InvariantCulture);
            at += n;
        }
        else
        {
            at += Encoding.UTF8.GetBytes(point.Id.Text!, span);
        }
        foreach (float f in vector)
        {
            span[at++] = (byte)',';
            f.TryFormat(span[at..], out int n, default, CultureInfo.InvariantCulture);
            at += n;
        }
        span[at++] = (byte)'\n';
        output.Advance(at);
    }

    /// <summary>Route metadata lifting the body cap (the import streams its body in bounded batches).</summary>
    private sealed class Unlimited : IRequestSizeLimitMetadata
    {
        public static readonly Unlimited Instance = new();

        public long? MaxRequestBodySize => null;
    }

    /// <summary>One import: lines in, validated batches out.</summary>
    private sealed class Import(VLinkNode node, CollectionSpec spec, Format format, int batchSize, long maxLineBytes, Embeddings.EmbeddingProviders providers)
    {
        private readonly List<PointWrite> _batch = new(batchSize);
        private long _batchFirstLine;
        private bool _seenData;

        public long Imported { get; private set; }

        public long Lines { get; private set; }

        public int Batches { get; private set; }

        public async Task RunAsync(PipeReader reader, CancellationToken cancellationToken)
        {
            while (true)
            {
                var read = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var buffer = read.Buffer;
                try
                {
                    while (TakeLine(ref buffer, out var line))
                    {
                        Lines++;
                        Take(line);
                        // A full batch is written before another byte is read: memory stays one batch deep.
                        if (_batch.Count >= batchSize) await FlushAsync().ConfigureAwait(false);
                    }
                    if (buffer.Length > maxLineBytes)
                        throw Refused(Lines + 1, ApiException.BadField(LinePath(Lines + 1), $"longer than {maxLineBytes} bytes"));
                    if (read.IsCompleted)
                    {
                        if (!buffer.IsEmpty)
                        {
                            Lines++;
                            Take(buffer);
                            buffer = buffer.Slice(buffer.End);
                        }
                        break;
                    }
                }
                finally
                {
                    reader.AdvanceTo(buffer.Start, buffer.End);
                }
            }
            if (_batch.Count > 0) await FlushAsync().ConfigureAwait(false);
        }

        private static bool TakeLine(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line)
        {
            var end = buffer.PositionOf((byte)'\n');
            if (end is null)
            {
                line = default;
                return false;
            }
            line = buffer.Slice(0, end.Value);
            buffer = buffer.Slice(buffer.GetPosition(1, end.Value));
            return true;
        }

        private static string LinePath(long line) => string.Create(CultureInfo.InvariantCulture, $"line {line}");

        /// <summary>Validates one line into the batch; throws problem details naming the line (nothing of its batch is written).</summary>
        private void Take(ReadOnlySequence<byte> line)
        {
            byte[] bytes = line.ToArray();
            int length = bytes.Length;
            while (length > 0 && bytes[length - 1] is (byte)'\r' or (byte)' ' or (byte)'\t') length--;
            int start = Lines == 1 && bytes.AsSpan(0, length).StartsWith(Utf8Bom) ? Utf8Bom.Length : 0;
            while (start < length && bytes[start] is (byte)' ' or (byte)'\t') start++;
            if (start == length) return;
            var text = bytes.AsMemory(start, length - start);
            bool first = !_seenData;
            _seenData = true;
            string path = LinePath(Lines);
            try
            {
                var point = format == Format.Csv ? ParseCsv(text.Span, path, first) : ParseJson(text, path);
                if (point is null) return;
                if (_batch.Count == 0) _batchFirstLine = Lines;
                _batch.Add(point);
            }
            catch (ApiException e)
            {
                throw Refused(Lines, e);
            }
        }

        private PointWrite ParseJson(ReadOnlyMemory<byte> text, string path)
        {
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(text);
            }
            catch (JsonException e)
            {
                throw ApiException.BadField(path, $"malformed JSON ({e.Message})");
            }
            using (document) return PointJson.Parse(document.RootElement, path, spec);
        }

        /// <summary>One CSV row as a point; null for the optional header (a first row whose first cell is <c>id</c>).</summary>
        private PointWrite? ParseCsv(ReadOnlySpan<byte> text, string path, bool first)
        {
            string[] cells = Encoding.UTF8.GetString(text).Split(',');
            string id = cells[0].Trim().Trim('"');
            if (first && id.Equals("id", StringComparison.OrdinalIgnoreCase))
            {
                if (cells.Length - 1 != spec.Dimension)
                    throw ApiException.BadField(path, string.Create(CultureInfo.InvariantCulture,
                        $"the header names {cells.Length - 1} vector columns; the collection's vectors have {spec.Dimension}"));
                return null;
            }
            PointId pointId;
            if (ulong.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out ulong number)) pointId = new PointId(number);
            else if (Guid.TryParse(id, out var uuid)) pointId = new PointId(uuid.ToString("D"));
            else throw ApiException.BadField(path + ".id", "a point id must be an unsigned integer or a UUID");
            if (cells.Length - 1 != spec.Dimension)
                throw ApiException.BadField(path + ".vector", string.Create(CultureInfo.InvariantCulture,
                    $"wrong vector dimension: expected {spec.Dimension}, got {cells.Length - 1}"));
            var vector = new float[spec.Dimension];
            bool allZero = true;
            for (int i = 0; i < vector.Length; i++)
            {
                if (!float.TryParse(cells[i + 1], NumberStyles.Float, CultureInfo.InvariantCulture, out float f) || !float.IsFinite(f))
                    throw ApiException.BadField(string.Create(CultureInfo.InvariantCulture, $"{path}.vector[{i}]"),
                        $"expected a finite 32-bit float, got '{cells[i + 1].Trim()}'");
                allZero &= f == 0f;
                vector[i] = f;
            }
            if (allZero && spec.Metric == DistanceMetric.Cosine)
                throw ApiException.BadField(path + ".vector", "a zero vector has no direction for cosine distance");
            return new PointWrite(pointId, vector, null);
        }

        private async Task FlushAsync()
        {
            // A collection that embeds its text embeds each batch's points here, as the upsert route does.
            try
            {
                await TextEmbedding.EmbedMissingAsync(providers, spec, _batch,
                    j => string.Create(CultureInfo.InvariantCulture, $"lines {_batchFirstLine}-{Lines}, point {j + 1}"), CancellationToken.None).ConfigureAwait(false);
            }
            catch (ApiException e) when (e.Status == StatusCodes.Status400BadRequest)
            {
                throw Refused(_batchFirstLine, e);
            }
            try
            {
                await node.UpsertAsync(spec.Name, _batch).ConfigureAwait(false);
            }
            catch (ArgumentException e)
            {
                string lines = string.Create(CultureInfo.InvariantCulture, $"lines {_batchFirstLine}-{Lines}");
                throw Refused(_batchFirstLine, new ApiException(StatusCodes.Status400BadRequest, lines, $"{lines}: {e.Message}"));
            }
            Imported += _batch.Count;
            Batches++;
            _batch.Clear();
        }

        private ApiException Refused(long line, ApiException problem) => new(problem.Status, problem.Field, problem.Message)
        {
            Extensions = new Dictionary<string, object?> { ["line"] = line, ["imported"] = Imported },
        };
    }
}
