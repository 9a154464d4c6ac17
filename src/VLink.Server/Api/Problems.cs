using Akka.Actor;
using Microsoft.AspNetCore.WebUtilities;
using VLink.Cluster.Gather;
using VLink.Cluster.Hosting;
using VLink.Cluster.Journal;

namespace VLink.Server.Api;

/// <summary>Turns the API's failures into RFC 7807 problem details (<c>application/problem+json</c>).</summary>
public static class Problems
{
    /// <summary>Adds the middleware that answers refused requests with problem details naming the field.</summary>
    public static IApplicationBuilder UseVLinkProblems(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (Exception e) when (Map(e) is { } problem && !context.Response.HasStarted)
        {
            context.Response.Clear();
            await Write(context, problem.Status, problem.Field, problem.Detail, Extensions(e)).ConfigureAwait(false);
        }
    });

    /// <summary>Writes one problem-details answer, with <paramref name="more"/> members beside <c>field</c> when given.</summary>
    public static Task Write(HttpContext context, int status, string? field, string detail, IReadOnlyDictionary<string, object?>? more = null)
    {
        var extensions = new Dictionary<string, object?>();
        if (field is not null) extensions["field"] = field;
        if (more is not null)
        {
            foreach (var (name, value) in more) extensions[name] = value;
        }
        return Results.Problem(
            detail: detail,
            statusCode: status,
            title: ReasonPhrases.GetReasonPhrase(status),
            instance: context.Request.Path,
            extensions: extensions).ExecuteAsync(context);
    }

    // A refused partition is named the way searches name the partitions that did not answer.
    private static IReadOnlyDictionary<string, object?>? Extensions(Exception e) => e switch
    {
        ApiException api => api.Extensions,
        PartitionUnavailableException unavailable => new Dictionary<string, object?> { ["missing_partitions"] = new[] { unavailable.Partition.EntityId } },
        IncompleteReadException incomplete => new Dictionary<string, object?> { ["missing_partitions"] = incomplete.MissingPartitions.ToArray() },
        _ => null,
    };

    private static (int Status, string? Field, string Detail)? Map(Exception e) => e switch
    {
        ApiException api => (api.Status, api.Field, api.Message),
        UnknownCollectionException unknown => (StatusCodes.Status404NotFound, "collection_name", $"collection_name: collection '{unknown.Collection}' does not exist"),
        BadHttpRequestException bad => (bad.StatusCode, "body", $"body: {bad.Message}"),
        AskTimeoutException => (StatusCodes.Status503ServiceUnavailable, null, "The cluster did not answer in time."),
        WriteConsistencyException consistency => (StatusCodes.Status503ServiceUnavailable, null, consistency.Message),
        PartitionUnavailableException unavailable => (StatusCodes.Status503ServiceUnavailable, null, unavailable.Message),
        IncompleteReadException incomplete => (StatusCodes.Status503ServiceUnavailable, null, incomplete.Message),
        JournalUnavailableException journal => (StatusCodes.Status503ServiceUnavailable, null, journal.Message),
        ArgumentException arg => (StatusCodes.Status400BadRequest, arg.ParamName, arg.Message),
        _ => null,
    };
}
