using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace VLink.Embeddings;

/// <summary>
/// A vocabulary of word vectors in a compact binary form: each vector as int8 codes with one scale per word
/// (x ≈ scale · code), words in the source's order — most frequent first for GloVe — so a word's rank stands in
/// for its frequency. About d + 4 bytes a word plus the word itself (GloVe 6B 100-d: 341K words in about 38 MB).
/// </summary>
/// <remarks>
/// File: magic <c>VLWV</c>, version (int32, 1), dimension, count, the scales (count float32), the codes
/// (count × dimension int8), then the words (UTF-8, each prefixed by its byte length as a 7-bit varint), all
/// little-endian. A truncated or damaged file fails with <see cref="InvalidDataException"/>.
/// </remarks>
public sealed class WordVectors
{
    private static ReadOnlySpan<byte> Magic => "VLWV"u8;
    private const int FormatVersion = 1;

    private readonly float[] _scales;
    private readonly sbyte[] _codes;
    private readonly string[] _words;
    private readonly Dictionary<string, int> _index;

    private WordVectors(int dimension, float[] scales, sbyte[] codes, string[] words, string digest)
    {
        Dimension = dimension;
        _scales = scales;
        _codes = codes;
        _words = words;
        Digest = digest;
        _index = new Dictionary<string, int>(words.Length, StringComparer.Ordinal);
        // The first occurrence wins: it is the more frequent one.
        for (int i = 0; i < words.Length; i++) _index.TryAdd(words[i], i);
    }

    /// <summary>The dimension of every vector.</summary>
    public int Dimension { get; }

    /// <summary>Words held.</summary>
    public int Count => _words.Length;

    /// <summary>The first 12 hex digits of the SHA-256 of the file's content: the version of these vectors.</summary>
    public string Digest { get; }

    /// <summary>The word at a rank (0 = most frequent).</summary>
    public string Word(int rank) => _words[rank];

    /// <summary>The rank of a word (0 = most frequent), or -1 when unknown.</summary>
    public int RankOf(string word) => _index.TryGetValue(word, out int rank) ? rank : -1;

    /// <summary>Adds <paramref name="weight"/> times the vector of the word at <paramref name="rank"/> to <paramref name="sum"/>.</summary>
    public void AddTo(int rank, float weight, Span<float> sum)
    {
        float w = weight * _scales[rank];
        var codes = _codes.AsSpan(rank * Dimension, Dimension);
        for (int i = 0; i < codes.Length; i++) sum[i] += w * codes[i];
    }

    /// <summary>The (dequantised) vector of the word at a rank.</summary>
    public float[] Vector(int rank)
    {
        var v = new float[Dimension];
        AddTo(rank, 1f, v);
        return v;
    }

    /// <summary>Quantises vectors given in rank order and writes them in the binary form.</summary>
    /// <param name="output">Where the file goes.</param>
    /// <param name="dimension">Every vector's dimension.</param>
    /// <param name="entries">Word and vector pairs, most frequent first.</param>
    public static void Write(Stream output, int dimension, IEnumerable<(string Word, float[] Vector)> entries)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        var scales = new List<float>();
        var codes = new List<sbyte>();
        var words = new List<string>();
        foreach (var (word, vector) in entries)
        {
            if (vector.Length != dimension) throw new ArgumentException($"The vector of '{word}' has {vector.Length} values, not {dimension}.", nameof(entries));
            float max = 0;
            foreach (float x in vector)
            {
                if (!float.IsFinite(x)) throw new ArgumentException($"The vector of '{word}' holds a value that is not finite.", nameof(entries));
                max = Math.Max(max, Math.Abs(x));
            }
            float scale = max == 0 ? 0 : max / 127f;
            scales.Add(scale);
            foreach (float x in vector) codes.Add(scale == 0 ? (sbyte)0 : (sbyte)Math.Clamp(MathF.Round(x / scale), -127, 127));
            words.Add(word);
        }
        using var writer = new BinaryWriter(output, Encoding.UTF8, leaveOpen: true);
        writer.Write(Magic);
        writer.Write(FormatVersion);
        writer.Write(dimension);
        writer.Write(words.Count);
        foreach (float s in scales) writer.Write(s);
        foreach (sbyte c in codes) writer.Write(c);
        foreach (var w in words) writer.Write(w);
        writer.Flush();
    }

    /// <summary>Reads a file written by <see cref="Write"/>.</summary>
    /// <exception cref="InvalidDataException">Not such a file, or a truncated one.</exception>
    public static WordVectors Load(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        return Load(bytes);
    }

    /// <summary>Reads the bytes of a file written by <see cref="Write"/>.</summary>
    /// <exception cref="InvalidDataException">Not such a file, or a truncated one.</exception>
    public static WordVectors Load(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.Length < 16 || !bytes.AsSpan(0, 4).SequenceEqual(Magic))
            throw new InvalidDataException("Not a VLink word-vectors file (magic VLWV missing).");
        int version = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4));
        if (version != FormatVersion) throw new InvalidDataException($"Word-vectors file version {version} is not supported (expected {FormatVersion}).");
        int dimension = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8));
        int count = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12));
        if (dimension is < 1 or > 65536 || count < 0) throw new InvalidDataException($"Word-vectors file header is damaged (dimension {dimension}, count {count}).");
        long fixedBytes = 16L + 4L * count + (long)count * dimension;
        if (bytes.Length < fixedBytes) throw new InvalidDataException("Word-vectors file is truncated.");
        var scales = new float[count];
        for (int i = 0; i < count; i++) scales[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(16 + 4 * i));
        var codes = new sbyte[(long)count * dimension];
        Buffer.BlockCopy(bytes, 16 + 4 * count, codes, 0, codes.Length);
        var words = new string[count];
        int at = (int)fixedBytes;
        try
        {
            for (int i = 0; i < count; i++)
            {
                int length = 0, shift = 0;
                byte b;
                do
                {
                    b = bytes[at++];
                    length |= (b & 0x7F) << shift;
                    shift += 7;
                } while ((b & 0x80) != 0 && shift < 35);
                words[i] = Encoding.UTF8.GetString(bytes, at, length);
                at += length;
            }
        }
        catch (Exception e) when (e is IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            throw new InvalidDataException("Word-vectors file is truncated in its word list.", e);
        }
        if (at != bytes.Length) throw new InvalidDataException("Word-vectors file has bytes after its word list.");
        string digest = Convert.ToHexStringLower(SHA256.HashData(bytes))[..12];
        return new WordVectors(dimension, scales, codes, words, digest);
    }
}
