namespace VLink.Core.Filtering;

/// <summary>
/// A filter's JSON is malformed or uses an unsupported form. The message starts with the JSON path of the problem,
/// e.g. <c>filter.must[1].range.gte: expected a number</c>.
/// </summary>
public sealed class FilterParseException : ArgumentException
{
    /// <summary>Creates the exception for a problem at a JSON path.</summary>
    public FilterParseException(string path, string problem)
        : base($"{path}: {problem}")
    {
        Path = path;
        Problem = problem;
    }

    /// <summary>The JSON path of the offending element, e.g. <c>filter.must[1].range.gte</c>.</summary>
    public string Path { get; }

    /// <summary>What is wrong there, without the path.</summary>
    public string Problem { get; }
}
