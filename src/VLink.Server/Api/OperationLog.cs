using System.Diagnostics;

namespace VLink.Server.Api;

/// <summary>
/// One structured log line per changing request (every route that needs a write or admin key: collection, point,
/// payload, import and cluster operations) with its route, collection, points, status and elapsed milliseconds,
/// under the category <see cref="Category"/>. Handlers report how many points they touched with <see cref="Points"/>.
/// </summary>
public static partial class OperationLog
{
    /// <summary>The log category of operation lines.</summary>
    public const string Category = "VLink.Operations";

    private const string PointsItem = "vlink.points";

    /// <summary>Records how many points the request wrote, deleted or changed, for its log line.</summary>
    public static void Points(HttpContext context, long points) => context.Items[PointsItem] = points;

    /// <summary>Adds the log (outermost, so it sees the final status of refused and failed requests too).</summary>
    public static IApplicationBuilder UseVLinkOperationLog(this IApplicationBuilder app)
    {
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger(Category);
        return app.Use(async (context, next) =>
        {
            var endpoint = context.GetEndpoint();
            if (endpoint is null || endpoint.Metadata.GetMetadata<Anonymous>() is not null
                || ApiKeyCheck.Needed(endpoint, context.Request.Method) < VLinkRole.Write)
            {
                await next(context).ConfigureAwait(false);
                return;
            }
            long started = Stopwatch.GetTimestamp();
            int status = StatusCodes.Status500InternalServerError;
            try
            {
                await next(context).ConfigureAwait(false);
                status = context.Response.StatusCode;
            }
            finally
            {
                double elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                string route = (endpoint as RouteEndpoint)?.RoutePattern.RawText ?? context.Request.Path.Value ?? "";
                string? collection = context.GetRouteValue("name") as string;
                long? points = context.Items.TryGetValue(PointsItem, out var n) ? (long?)n : null;
                if (status >= 500) Failed(logger, context.Request.Method, route, collection, points, status, Math.Round(elapsed, 3));
                else Done(logger, context.Request.Method, route, collection, points, status, Math.Round(elapsed, 3));
            }
        });
    }

    [LoggerMessage(EventId = 1, EventName = "Operation", Level = LogLevel.Information,
        Message = "{Method} {Route} collection={Collection} points={Points} status={Status} in {ElapsedMs} ms")]
    private static partial void Done(ILogger logger, string method, string route, string? collection, long? points, int status, double elapsedMs);

    [LoggerMessage(EventId = 2, EventName = "OperationFailed", Level = LogLevel.Warning,
        Message = "{Method} {Route} collection={Collection} points={Points} status={Status} in {ElapsedMs} ms")]
    private static partial void Failed(ILogger logger, string method, string route, string? collection, long? points, int status, double elapsedMs);
}
