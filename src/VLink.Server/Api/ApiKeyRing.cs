using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using VLink.Server.Hosting;

namespace VLink.Server.Api;

/// <summary>
/// The API keys this node accepts and the role of each. Keys are kept only as SHA-256 hashes and every check
/// compares the presented key's hash with all of them in constant time.
/// </summary>
public sealed class ApiKeyRing
{
    /// <summary>The file in the data directory that holds the generated admin key.</summary>
    public const string GeneratedFileName = "api-keys.json";

    private readonly byte[][] _hashes;
    private readonly VLinkRole[] _roles;

    private ApiKeyRing(bool enabled, IReadOnlyList<ApiKeyEntry> keys)
    {
        Enabled = enabled;
        _hashes = [.. keys.Select(k => Hash(k.Key))];
        _roles = [.. keys.Select(k => k.Role)];
    }

    /// <summary>A ring that lets every request through (<c>VLink:AuthEnabled=false</c>).</summary>
    public static ApiKeyRing Disabled { get; } = new(false, []);

    /// <summary>Whether requests need a key.</summary>
    public bool Enabled { get; }

    /// <summary>How many keys the ring holds.</summary>
    public int Count => _roles.Length;

    /// <summary>A ring holding exactly <paramref name="keys"/> (duplicates with different roles are refused).</summary>
    public static ApiKeyRing Of(IEnumerable<ApiKeyEntry> keys)
    {
        var distinct = new Dictionary<string, VLinkRole>(StringComparer.Ordinal);
        foreach (var (key, role) in keys)
        {
            if (distinct.TryGetValue(key, out var other) && other != role)
                throw new InvalidOperationException($"The same API key is configured twice, once as {RoleName(other)} and once as {RoleName(role)}.");
            distinct[key] = role;
        }
        return new ApiKeyRing(true, [.. distinct.Select(d => new ApiKeyEntry(d.Key, d.Value))]);
    }

    /// <summary>The role of a presented key, or null when no configured key matches.</summary>
    public VLinkRole? Match(string presented)
    {
        var hash = Hash(presented);
        int found = -1;
        // Every key is compared, matching or not, so the time taken says nothing about which key (if any) matched.
        for (int i = 0; i < _hashes.Length; i++)
        {
            bool equal = CryptographicOperations.FixedTimeEquals(hash, _hashes[i]);
            found = equal ? i : found;
        }
        return found < 0 ? null : _roles[found];
    }

    /// <summary>
    /// Builds the node's ring from its options: the keys of <c>VLink:ApiKeys</c> and of <c>VLink:ApiKeysFile</c>;
    /// when neither names a key, the keys of <c>{DataDirectory}/api-keys.json</c>, generating that file with one
    /// admin key (announced once on <paramref name="console"/>) when it does not exist yet.
    /// </summary>
    /// <exception cref="InvalidOperationException">A configured key or the key file is unusable; the message says which and why.</exception>
    public static ApiKeyRing Load(VLinkServerOptions options, TextWriter console, ILogger logger)
    {
        if (!options.AuthEnabled)
        {
            logger.LogWarning("API keys are off (VLink:AuthEnabled=false): anyone who reaches this node may read, write and administer it");
            return Disabled;
        }
        var keys = new List<ApiKeyEntry>();
        for (int i = 0; i < options.ApiKeys.Count; i++)
        {
            var configured = options.ApiKeys[i];
            if (string.IsNullOrWhiteSpace(configured.Key))
                throw new InvalidOperationException($"VLink:ApiKeys:{i}:Key is empty.");
            var role = ParseRole(configured.Role)
                ?? throw new InvalidOperationException($"VLink:ApiKeys:{i}:Role must be read, write or admin, got '{configured.Role}'.");
            keys.Add(new ApiKeyEntry(configured.Key, role));
        }
        if (!string.IsNullOrWhiteSpace(options.ApiKeysFile))
        {
            string path = Path.GetFullPath(options.ApiKeysFile);
            keys.AddRange(ReadFile(path));
            logger.LogInformation("API keys read from {KeyFile}", path);
        }
        if (keys.Count == 0)
        {
            string path = Path.Combine(Path.GetFullPath(options.DataDirectory), GeneratedFileName);
            if (File.Exists(path))
            {
                keys.AddRange(ReadFile(path));
                logger.LogInformation("API keys read from {KeyFile}", path);
            }
            else
            {
                var key = new ApiKeyEntry(NewKey(), VLinkRole.Admin);
                WriteFile(path, [key]);
                keys.Add(key);
                // Printed once, plainly, so that whoever started the node can use it; later starts read the file.
                console.WriteLine($"Generated admin API key (stored in {path}): {key.Key}");
                console.Flush();
            }
        }
        var ring = Of(keys);
        logger.LogInformation("API keys required ({KeyCount} accepted)", ring.Count);
        return ring;
    }

    /// <summary>A new random key: 32 bytes from the system's CSPRNG, base64url without padding.</summary>
    public static string NewKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))
        .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Reads a key file: a JSON array of <c>{"key": "...", "role": "read|write|admin"}</c>.</summary>
    /// <exception cref="InvalidOperationException">The file is missing, unreadable, not valid JSON (the message names the line) or holds a bad entry.</exception>
    public static IReadOnlyList<ApiKeyEntry> ReadFile(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"API key file {path}: cannot be read ({e.Message})", e);
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            string where = e.LineNumber is { } line ? $"line {line + 1}, position {e.BytePositionInLine + 1}" : "somewhere";
            throw new InvalidOperationException($"API key file {path}: not valid JSON at {where} ({e.Message})", e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Array)
                throw Bad(path, "expected a JSON array of {\"key\": \"...\", \"role\": \"read|write|admin\"}");
            var keys = new List<ApiKeyEntry>();
            int i = 0;
            foreach (var item in root.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Object) throw Bad(path, $"[{i}]: expected an object with key and role");
                if (!item.TryGetProperty("key", out var key) || key.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(key.GetString()))
                    throw Bad(path, $"[{i}].key: expected a non-empty string");
                if (!item.TryGetProperty("role", out var roleName) || roleName.ValueKind != JsonValueKind.String)
                    throw Bad(path, $"[{i}].role: expected \"read\", \"write\" or \"admin\"");
                var role = ParseRole(roleName.GetString())
                    ?? throw Bad(path, $"[{i}].role: expected \"read\", \"write\" or \"admin\", got \"{roleName.GetString()}\"");
                keys.Add(new ApiKeyEntry(key.GetString()!, role));
                i++;
            }
            if (keys.Count == 0) throw Bad(path, "holds no keys");
            return keys;
        }
    }

    /// <summary>Writes a key file readable and writable only by its owner (mode 600 on Unix); fails if it exists.</summary>
    public static void WriteFile(string path, IReadOnlyList<ApiKeyEntry> keys)
    {
        string directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        string temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        var open = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) open.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        try
        {
            using (var stream = new FileStream(temporary, open))
            using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
            {
                json.WriteStartArray();
                foreach (var (key, role) in keys)
                {
                    json.WriteStartObject();
                    json.WriteString("key", key);
                    json.WriteString("role", RoleName(role));
                    json.WriteEndObject();
                }
                json.WriteEndArray();
                json.Flush();
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: false);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>The name of a role in key files and configuration: read, write or admin.</summary>
    public static string RoleName(VLinkRole role) => role switch
    {
        VLinkRole.Read => "read",
        VLinkRole.Write => "write",
        VLinkRole.Admin => "admin",
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, "not a role"),
    };

    /// <summary>A role by name (read, write, admin; any case), or null.</summary>
    public static VLinkRole? ParseRole(string? name) => name?.Trim().ToLowerInvariant() switch
    {
        "read" => VLinkRole.Read,
        "write" => VLinkRole.Write,
        "admin" => VLinkRole.Admin,
        _ => null,
    };

    private static InvalidOperationException Bad(string path, string problem) => new($"API key file {path}: {problem}");

    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}

/// <summary>One API key and its role.</summary>
/// <param name="Key">The secret.</param>
/// <param name="Role">What it may do.</param>
public sealed record ApiKeyEntry(string Key, VLinkRole Role)
{
    /// <summary>Keeps the secret out of logs and exception messages.</summary>
    public override string ToString() => $"ApiKeyEntry {{ Role = {Role} }}";
}
