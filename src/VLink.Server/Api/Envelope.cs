using System.Diagnostics;
using System.Text.Json.Nodes;

namespace VLink.Server.Api;

/// <summary>Qdrant's response envelope: <c>{"result": ..., "status": "ok", "time": seconds}</c>.</summary>
public static class Envelope
{
    /// <summary>An OK answer carrying <paramref name="result"/>, the elapsed time, and any extra top-level fields.</summary>
    public static IResult Ok(JsonNode? result, Stopwatch clock, params (string Name, JsonNode? Value)[] extra)
    {
        var body = new JsonObject { ["result"] = result, ["status"] = "ok", ["time"] = clock.Elapsed.TotalSeconds };
        foreach (var (name, value) in extra) body[name] = value;
        return Results.Text(body.ToJsonString(), "application/json", System.Text.Encoding.UTF8);
    }
}
