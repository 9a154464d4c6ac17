using System.Text;
using System.Text.Json;

namespace VLink.Core.Hybrid;

/// <summary>Reads the text a point holds in named payload fields (and its document).</summary>
public static class TextFields
{
    /// <summary>The field name that stands for the point's document rather than a payload key.</summary>
    public const string DocumentField = "document";

    /// <summary>
    /// The text of a point: each named field's strings (a string, or the strings of an array; dotted keys step into
    /// objects), the document for <see cref="DocumentField"/>, in field order, separated by new lines; null when none.
    /// </summary>
    /// <param name="payload">The payload as UTF-8 JSON (an object), or null.</param>
    /// <param name="document">The point's document, or null.</param>
    /// <param name="fields">The fields read.</param>
    public static string? Extract(byte[]? payload, string? document, IReadOnlyList<string> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var text = new StringBuilder();
        JsonDocument? parsed = null;
        try
        {
            foreach (var field in fields)
            {
                if (field == DocumentField && document is not null)
                {
                    Append(text, document);
                    continue;
                }
                if (payload is not { Length: > 0 }) continue;
                parsed ??= JsonDocument.Parse(payload);
                var element = parsed.RootElement;
                bool found = true;
                foreach (var key in field.Split('.'))
                {
                    if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(key, out element))
                    {
                        found = false;
                        break;
                    }
                }
                if (!found) continue;
                if (element.ValueKind == JsonValueKind.String) Append(text, element.GetString()!);
                else if (element.ValueKind == JsonValueKind.Array)
                    foreach (var item in element.EnumerateArray())
                        if (item.ValueKind == JsonValueKind.String) Append(text, item.GetString()!);
            }
        }
        finally
        {
            parsed?.Dispose();
        }
        return text.Length == 0 ? null : text.ToString();
    }

    private static void Append(StringBuilder text, string value)
    {
        if (string.IsNullOrWhiteSpace(value)) return;
        if (text.Length > 0) text.Append('\n');
        text.Append(value);
    }
}
