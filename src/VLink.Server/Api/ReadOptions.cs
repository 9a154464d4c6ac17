using System.Globalization;
using System.Text.Json.Nodes;
using VLink.Cluster.Gather;
using VLink.Cluster.Hosting;

namespace VLink.Server.Api;

/// <summary>
/// The query parameters every read route takes: Qdrant's <c>timeout</c> (whole seconds, at least 1; the node's gather
/// timeout when absent) and VLink's <c>require_complete</c> (an answer that misses partitions is then a 503 naming them
/// instead of a 200 with <c>complete: false</c>).
/// </summary>
/// <param name="Timeout">How long the read may take, or null for the node's gather timeout.</param>
/// <param name="RequireComplete">Whether an incomplete answer is refused.</param>
public sealed record ReadOptions(TimeSpan? Timeout, bool RequireComplete)
{
    /// <summary>The largest <c>timeout</c> taken: one hour.</summary>
    public const int MaxTimeoutSeconds = 3600;

    /// <summary>Reads the parameters of <paramref name="request"/>; 400 naming the parameter when one is malformed.</summary>
    public static ReadOptions Of(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        TimeSpan? timeout = null;
        if (request.Query.TryGetValue("timeout", out var values) && values.Count > 0)
        {
            string text = values[^1] ?? "";
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int seconds) || seconds is < 1 or > MaxTimeoutSeconds)
                throw ApiException.BadField("timeout", $"'{text}' is not a timeout: expected whole seconds from 1 to {MaxTimeoutSeconds}");
            timeout = TimeSpan.FromSeconds(seconds);
        }
        bool requireComplete = false;
        if (request.Query.TryGetValue("require_complete", out var flags) && flags.Count > 0)
        {
            string text = flags[^1] ?? "";
            if (!bool.TryParse(text, out requireComplete))
                throw ApiException.BadField("require_complete", $"'{text}' is not true or false");
        }
        return new ReadOptions(timeout, requireComplete);
    }

    /// <summary>The read's deadline, started now, cancelled with the request.</summary>
    public ReadDeadline Deadline(VLinkNode node, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(node);
        return node.Gather.Deadline(Timeout, cancellationToken);
    }

    /// <summary>
    /// The time the first step of a read in two steps (a search, then the matches' payloads) may take: what is left of
    /// the deadline less its margin, which the second step keeps.
    /// </summary>
    public static TimeSpan FirstStep(ReadDeadline deadline)
    {
        ArgumentNullException.ThrowIfNull(deadline);
        var margin = ReadDeadline.Margin(deadline.Timeout);
        return deadline.Left - margin is { } left && left > margin ? left : margin;
    }

    /// <summary>The time the last step of a read may take: what is left of the deadline, at least its margin.</summary>
    public static TimeSpan LastStep(ReadDeadline deadline)
    {
        ArgumentNullException.ThrowIfNull(deadline);
        var margin = ReadDeadline.Margin(deadline.Timeout);
        return deadline.Left > margin ? deadline.Left : margin;
    }

    /// <summary>Refuses (503 naming them) an answer missing <paramref name="missing"/> when the request requires a complete one.</summary>
    public void Check(IEnumerable<string> missing)
    {
        var named = missing.Distinct().Order(StringComparer.Ordinal).ToList();
        if (RequireComplete && named.Count > 0) throw Incomplete(named);
    }

    /// <summary>The 503 of an answer that misses partitions.</summary>
    public static ApiException Incomplete(IReadOnlyList<string> missing) =>
        new(StatusCodes.Status503ServiceUnavailable, null, $"Partitions {string.Join(", ", missing)} did not answer in time.")
        {
            Extensions = new Dictionary<string, object?> { ["missing_partitions"] = missing.ToArray() },
        };

    /// <summary>The envelope's completeness fields: <c>complete</c> and the sorted <c>missing_partitions</c>.</summary>
    public static (string Name, JsonNode? Value)[] Completeness(IEnumerable<string> missing)
    {
        var named = missing.Distinct().Order(StringComparer.Ordinal).ToList();
        return
        [
            ("complete", named.Count == 0),
            ("missing_partitions", new JsonArray([.. named.Select(p => (JsonNode)JsonValue.Create(p))])),
        ];
    }
}
