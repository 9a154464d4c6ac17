using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace VLink.Bench;

/// <summary>Writes one JSON object per line to stdout (stdout carries JSON lines only; humans read stderr).</summary>
public static class Json
{
    private static readonly JsonWriterOptions Options = new() { Indented = false, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes one object, built by <paramref name="body"/>, as a single line on stdout; returns the line.</summary>
    public static string Line(Action<Utf8JsonWriter> body)
    {
        string line = Format(body);
        Console.Out.WriteLine(line);
        Console.Out.Flush();
        return line;
    }

    /// <summary>Formats one object, built by <paramref name="body"/>, on a single line.</summary>
    public static string Format(Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, Options))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>Writes a number rounded to <paramref name="digits"/> decimals, or null.</summary>
    public static void WriteRounded(this Utf8JsonWriter writer, string name, double? value, int digits)
    {
        if (value is null || !double.IsFinite(value.Value))
            writer.WriteNull(name);
        else
            writer.WriteNumber(name, Math.Round(value.Value, digits));
    }

    /// <summary>Writes an integer, or null.</summary>
    public static void WriteNullable(this Utf8JsonWriter writer, string name, long? value)
    {
        if (value is null)
            writer.WriteNull(name);
        else
            writer.WriteNumber(name, value.Value);
    }
}
