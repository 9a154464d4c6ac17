using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;
using VLink.Server.Hosting;

namespace VLink.Server.Api;

/// <summary>
/// Caps request bodies at <see cref="VLinkServerOptions.MaxBodyBytes"/> (a route may name its own cap with
/// <see cref="IRequestSizeLimitMetadata"/>; the streamed import has none). A body over the cap is 413 problem
/// details naming <c>body</c>: at once when its Content-Length says so, otherwise when reading passes the cap.
/// </summary>
public static class BodyLimit
{
    /// <summary>The default cap: 64 MiB.</summary>
    public const long DefaultMaxBodyBytes = 64L << 20;

    /// <summary>Adds the cap (after routing, so a route's own limit is known).</summary>
    public static IApplicationBuilder UseVLinkBodyLimit(this IApplicationBuilder app)
    {
        long configured = app.ApplicationServices.GetRequiredService<IOptions<VLinkServerOptions>>().Value.MaxBodyBytes;
        if (configured < 1) throw new InvalidOperationException($"VLink:MaxBodyBytes must be at least 1, got {configured}.");
        return app.Use(async (context, next) =>
        {
            var routeLimit = context.GetEndpoint()?.Metadata.GetMetadata<IRequestSizeLimitMetadata>();
            long? limit = routeLimit is null ? configured : routeLimit.MaxRequestBodySize;
            if (limit is { } cap && context.Request.ContentLength > cap)
            {
                await Problems.Write(context, StatusCodes.Status413PayloadTooLarge, "body",
                    $"body: {context.Request.ContentLength} bytes is more than the {cap} bytes a request may carry").ConfigureAwait(false);
                return;
            }
            var feature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
            if (feature is { IsReadOnly: false }) feature.MaxRequestBodySize = limit;
            else if (limit is { } max && context.Request.ContentLength is null)
                // Hosts without the feature (the in-memory test server) get the same cap from a counting stream.
                context.Request.Body = new CappedStream(context.Request.Body, max);
            await next(context).ConfigureAwait(false);
        });
    }

    /// <summary>A read-only stream that fails with 413 once more than <c>cap</c> bytes have been read.</summary>
    private sealed class CappedStream(Stream inner, long cap) : Stream
    {
        private long _read;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override int Read(Span<byte> buffer) => Count(inner.Read(buffer));

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Count(await inner.ReadAsync(buffer.AsMemory(offset, count), cancellationToken).ConfigureAwait(false));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private int Count(int n)
        {
            _read += n;
            if (_read > cap)
                throw new BadHttpRequestException($"the request body is more than the {cap} bytes a request may carry", StatusCodes.Status413PayloadTooLarge);
            return n;
        }
    }
}
