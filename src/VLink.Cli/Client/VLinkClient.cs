using System.CommandLine;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace VLink.Cli.Client;

/// <summary>A command failed in a way the user should read as one line (the server refused, a file is bad, ...).</summary>
internal sealed class CliException(string message) : Exception(message);

/// <summary>The <c>--url</c> and <c>--api-key</c> flags every client command has.</summary>
internal static class ClientOptions
{
    public const string UrlName = "--url";
    public const string ApiKeyName = "--api-key";
    public const string DefaultUrl = "http://127.0.0.1:6333";
    public const string ApiKeyVariable = "VLINK_API_KEY";

    /// <summary>Adds fresh <c>--url</c> and <c>--api-key</c> options to a command.</summary>
    public static T WithClientOptions<T>(this T command) where T : Command
    {
        var url = new Option<string>(UrlName)
        {
            Description = "The VLink node to talk to.",
            DefaultValueFactory = _ => DefaultUrl,
            HelpName = "URL",
        };
        url.Validators.Add(r =>
        {
            string? value = r.GetValue(url);
            if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                r.AddError($"{UrlName}: '{value}' is not an http:// or https:// URL.");
        });
        command.Options.Add(url);
        // No default value factory: help would print the key.
        command.Options.Add(new Option<string>(ApiKeyName)
        {
            Description = $"API key sent in the api-key header (default: the {ApiKeyVariable} environment variable).",
            HelpName = "KEY",
        });
        return command;
    }
}

/// <summary>Speaks to one VLink node's REST API and turns its failures into one-line <see cref="CliException"/>s.</summary>
internal sealed class VLinkClient : IDisposable
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromMinutes(2);
    private readonly HttpClient _http;

    public VLinkClient(Uri baseUrl, string? apiKey)
    {
        BaseUrl = baseUrl;
        // Streams (import, export) may run long; ordinary requests get their own deadline.
        _http = new HttpClient { BaseAddress = baseUrl, Timeout = Timeout.InfiniteTimeSpan };
        if (!string.IsNullOrEmpty(apiKey)) _http.DefaultRequestHeaders.Add("api-key", apiKey);
        _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
    }

    /// <summary>The server's base URL.</summary>
    public Uri BaseUrl { get; }

    /// <summary>The client for a parsed command's <c>--url</c> and <c>--api-key</c>.</summary>
    public static VLinkClient From(ParseResult parse)
    {
        string url = parse.GetValue<string>(ClientOptions.UrlName) ?? ClientOptions.DefaultUrl;
        string? key = parse.GetValue<string>(ClientOptions.ApiKeyName);
        if (string.IsNullOrEmpty(key)) key = Environment.GetEnvironmentVariable(ClientOptions.ApiKeyVariable);
        return new VLinkClient(new Uri(url.EndsWith('/') ? url : url + "/"), key);
    }

    /// <summary>GETs a path and returns the parsed JSON body.</summary>
    public Task<JsonNode> GetJsonAsync(string path, CancellationToken cancellationToken) =>
        SendJsonAsync(HttpMethod.Get, path, null, cancellationToken);

    /// <summary>Sends a JSON body (or none) and returns the parsed JSON answer; throws <see cref="CliException"/> on failure.</summary>
    public async Task<JsonNode> SendJsonAsync(HttpMethod method, string path, JsonNode? body, CancellationToken cancellationToken)
    {
        string text = await SendForTextAsync(method, path, body, cancellationToken).ConfigureAwait(false);
        return ParseBody(text, path);
    }

    /// <summary>Sends a JSON body (or none) and returns the raw answer text; throws <see cref="CliException"/> on failure.</summary>
    public async Task<string> SendForTextAsync(HttpMethod method, string path, JsonNode? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, Relative(path));
        if (body is not null) request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(RequestTimeout);
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, deadline.Token).ConfigureAwait(false);
        string text = await response.Content.ReadAsStringAsync(deadline.Token).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode) throw Failure(response, text);
        return text;
    }

    /// <summary>Sends a request; connection failures become a <see cref="CliException"/> naming the URL.</summary>
    public async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.RequestUri is { IsAbsoluteUri: false } relative) request.RequestUri = new Uri(BaseUrl, relative);
        try
        {
            return await _http.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(e);
        }
        catch (TaskCanceledException)
        {
            throw new CliException($"the VLink server at {BaseUrl} did not answer in time");
        }
    }

    /// <summary>A connection failure as one line naming the URL.</summary>
    public CliException Unreachable(HttpRequestException e)
    {
        ArgumentNullException.ThrowIfNull(e);
        string why = e.InnerException is SocketException socket ? socket.SocketErrorCode switch
        {
            SocketError.ConnectionRefused => "connection refused (is a vlink node running there? see --url)",
            SocketError.HostNotFound or SocketError.NoData => "unknown host",
            SocketError.TimedOut => "connection timed out",
            _ => socket.Message,
        } : e.Message;
        return new CliException($"cannot reach the VLink server at {BaseUrl}: {why}");
    }

    /// <summary>A refused request as one line: status, then the problem's detail (or the body's start).</summary>
    public static CliException Failure(HttpResponseMessage response, string body)
    {
        ArgumentNullException.ThrowIfNull(response);
        var problem = TryParseObject(body);
        string status = $"{(int)response.StatusCode} {ReasonOf(response)}";
        string? detail = (problem?["detail"] as JsonValue)?.ToString() ?? (problem?["title"] as JsonValue)?.ToString()
            ?? (problem?["status"] as JsonObject)?["error"]?.ToString();
        if (detail is null)
        {
            string trimmed = body.Trim();
            detail = trimmed.Length == 0 ? "(no details)" : trimmed.Length > 300 ? trimmed[..300] + "..." : trimmed;
        }
        string hint = response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden
            ? $" (pass a key with {ClientOptions.ApiKeyName} or the {ClientOptions.ApiKeyVariable} environment variable)"
            : "";
        return new CliException($"the server answered {status}: {OneLine(detail)}{hint}");
    }

    /// <summary>Parses a JSON object, or null when the text is not one.</summary>
    public static JsonObject? TryParseObject(string text)
    {
        try
        {
            return JsonNode.Parse(text) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The path relative to the base URL, with each segment given by the caller already escaped.</summary>
    public static Uri Relative(string path) => new(path.TrimStart('/'), UriKind.Relative);

    /// <summary>Escapes one path segment (a collection name).</summary>
    public static string Segment(string value) => Uri.EscapeDataString(value);

    public void Dispose() => _http.Dispose();

    private static JsonNode ParseBody(string text, string path)
    {
        try
        {
            return JsonNode.Parse(text) ?? throw new CliException($"the server answered {path} with an empty body");
        }
        catch (JsonException e)
        {
            throw new CliException($"the server's answer to {path} is not JSON: {e.Message}");
        }
    }

    private static string ReasonOf(HttpResponseMessage response) =>
        string.IsNullOrEmpty(response.ReasonPhrase) ? response.StatusCode.ToString() : response.ReasonPhrase;

    private static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
