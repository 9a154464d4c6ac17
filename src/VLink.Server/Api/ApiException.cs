namespace VLink.Server.Api;

/// <summary>A request the API refuses: answered as RFC 7807 problem details naming the offending field.</summary>
/// <param name="status">HTTP status code.</param>
/// <param name="field">The offending field as a JSON path (e.g. <c>points[3].vector</c>), or null.</param>
/// <param name="detail">What is wrong, for people.</param>
public sealed class ApiException(int status, string? field, string detail) : Exception(detail)
{
    /// <summary>HTTP status code.</summary>
    public int Status { get; } = status;

    /// <summary>The offending field as a JSON path, or null.</summary>
    public string? Field { get; } = field;

    /// <summary>Further members of the problem details (e.g. the import's <c>line</c> and <c>imported</c>), or null.</summary>
    public IReadOnlyDictionary<string, object?>? Extensions { get; init; }

    /// <summary>A 400 naming a field; the detail starts with the field's path.</summary>
    public static ApiException BadField(string field, string problem) => new(StatusCodes.Status400BadRequest, field, $"{field}: {problem}");
}
