using System.CommandLine;
using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using VLink.Cli.Client;

namespace VLink.Cli.Commands;

/// <summary>
/// <c>vlink mcp</c>: a Model Context Protocol server in front of a running node, so an assistant can search its
/// collections by text and ask for similar market regimes. Speaks MCP over stdio (the default, for clients that start
/// it) or over HTTP (<c>--http-port</c>, streamable HTTP at <c>/mcp</c>). Every tool call is one REST request to the node.
/// </summary>
internal static class McpCommand
{
    /// <summary>The <c>mcp</c> command.</summary>
    public static Command Build()
    {
        var httpPort = new Option<int?>("--http-port") { Description = "Serve MCP over HTTP on this port (streamable HTTP at /mcp, on 127.0.0.1) instead of stdio.", HelpName = "PORT" };
        var httpHost = new Option<string>("--http-host") { Description = "With --http-port: the address to listen on.", DefaultValueFactory = _ => "127.0.0.1", HelpName = "HOST" };
        httpPort.Check(v => v is < 1 or > 65535 ? $"--http-port: {v} is not a port." : null);
        var command = new Command("mcp", "Run a Model Context Protocol server (tools vlink_search and vlink_similar_regimes) in front of a running node.")
        {
            httpPort, httpHost,
        };
        command.WithClientOptions();
        command.SetAction(Output.Guard(async (parse, ct) =>
        {
            var client = VLinkClient.From(parse);
            if (parse.GetValue(httpPort) is { } port)
            {
                var builder = WebApplication.CreateSlimBuilder();
                builder.Logging.ClearProviders();
                builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
                builder.WebHost.UseUrls(string.Create(CultureInfo.InvariantCulture, $"http://{parse.GetValue(httpHost)}:{port}"));
                builder.Services.AddSingleton(client);
                builder.Services.AddMcpServer(Describe).WithHttpTransport().WithTools<VLinkTools>();
                await using var app = builder.Build();
                app.MapMcp("/mcp");
                await Console.Error.WriteLineAsync($"vlink mcp: MCP over HTTP at http://{parse.GetValue(httpHost)}:{port}/mcp for {client.BaseUrl}").ConfigureAwait(false);
                await app.RunAsync(ct).ConfigureAwait(false);
            }
            else
            {
                // stdout carries the protocol: everything else goes to stderr.
                var builder = Host.CreateApplicationBuilder();
                builder.Logging.ClearProviders();
                builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
                builder.Logging.SetMinimumLevel(LogLevel.Warning);
                builder.Services.AddSingleton(client);
                builder.Services.AddMcpServer(Describe).WithStdioServerTransport().WithTools<VLinkTools>();
                using var host = builder.Build();
                await host.RunAsync(ct).ConfigureAwait(false);
            }
            return 0;
        }));
        return command;
    }

    private static void Describe(McpServerOptions options) => options.ServerInfo = new Implementation
    {
        Name = "vlink",
        Version = typeof(McpCommand).Assembly.GetName().Version?.ToString(3) ?? "0.0.0",
    };
}

/// <summary>The tools <c>vlink mcp</c> offers; each call is one request to the node the command was pointed at.</summary>
[McpServerToolType]
internal sealed class VLinkTools(VLinkClient client)
{
    private static readonly string[] Methods = ["exact", "bm25", "semantic", "soft"];

    /// <summary>Text search of a collection: exact words, BM25 keywords and meaning, fused by Reciprocal Rank Fusion.</summary>
    [McpServerTool(Name = "vlink_search", ReadOnly = true, Idempotent = true)]
    [Description("Search a VLink collection by text: exact word match, BM25 keywords and semantic (embedding) search, fused by " +
        "Reciprocal Rank Fusion. Answers JSON {\"result\": [{\"id\", \"score\", \"payload\", \"matched_by\"}], \"semantic_executed\"}.")]
    public async Task<string> Search(
        [Description("The collection to search (it must declare text_fields).")] string collection,
        [Description("The text to search for.")] string query,
        [Description("Which methods to run: any of \"exact\", \"bm25\", \"semantic\" (default those three), and \"soft\" to re-rank their best 30 by each query word's closest word in the text.")] string[]? methods = null,
        [Description("Results wanted, 1-1000 (default 10).")] int limit = 10,
        [Description("A Qdrant payload filter object, e.g. {\"must\": [{\"key\": \"lang\", \"match\": {\"value\": \"en\"}}]}.")] JsonElement? filter = null,
        CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(collection)) throw new McpException("collection: name the collection to search.");
        if (string.IsNullOrWhiteSpace(query)) throw new McpException("query: give the text to search for.");
        if (methods is not null && methods.FirstOrDefault(m => !Methods.Contains(m)) is { } unknown)
            throw new McpException($"methods: '{unknown}' is not one of exact, bm25, semantic, soft.");
        var body = new JsonObject { ["query"] = query, ["limit"] = limit };
        if (methods is not null) body["methods"] = new JsonArray([.. methods.Select(m => (JsonNode)JsonValue.Create(m))]);
        if (filter is { ValueKind: not JsonValueKind.Null and not JsonValueKind.Undefined } f)
        {
            if (f.ValueKind != JsonValueKind.Object) throw new McpException("filter: expected a JSON object.");
            body["filter"] = JsonNode.Parse(f.GetRawText());
        }
        return await CallAsync(HttpMethod.Post, $"collections/{VLinkClient.Segment(collection)}/search/text", body, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The historical windows of any market whose regime was most like a market's at a time.</summary>
    [McpServerTool(Name = "vlink_similar_regimes", ReadOnly = true, Idempotent = true)]
    [Description("Find when, in any market VLink holds, the market looked most like a given market at a given time: the k most " +
        "similar historical regime windows, each with what happened next, and the distribution of those outcomes. Answers JSON.")]
    public async Task<string> SimilarRegimes(
        [Description("The reference market's symbol, e.g. SPX.")] string market,
        [Description("The reference time, e.g. 2008-10-10 or 2008-10-10T14:30:00Z: the window of the market's last bar starting at or before it.")] string at,
        [Description("Matches wanted (default 10).")] int k = 10,
        [Description("The regime collection (default \"regimes\").")] string collection = "regimes",
        CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(market)) throw new McpException("market: name the reference market.");
        if (string.IsNullOrWhiteSpace(at)) throw new McpException("at: give the reference time.");
        var body = RegimeCommands.SearchBody(market, at, k, null, null, null, collection);
        return await CallAsync(HttpMethod.Post, "regimes/search", body, cancellationToken).ConfigureAwait(false);
    }

    // The node's answer, without its envelope's timing; the node's refusal becomes the tool's error, naming the problem.
    private async Task<string> CallAsync(HttpMethod method, string path, JsonNode body, CancellationToken cancellationToken)
    {
        string text;
        try
        {
            text = await client.SendForTextAsync(method, path, body, cancellationToken).ConfigureAwait(false);
        }
        catch (CliException e)
        {
            throw new McpException(e.Message);
        }
        if (JsonNode.Parse(text) is JsonObject answer)
        {
            answer.Remove("time");
            answer.Remove("status");
            return answer.ToJsonString();
        }
        return text;
    }
}
