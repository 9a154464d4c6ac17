using System.Runtime.InteropServices;
using VLink.Bench.Cli;

namespace VLink.Bench.Io;

/// <summary>Equal-length rows stored back to back in one array (row i = <c>Data[i*Dimension .. (i+1)*Dimension)</c>).</summary>
public sealed class RowMatrix<T>
    where T : unmanaged
{
    /// <summary>Wraps <paramref name="data"/>, which must hold exactly <paramref name="count"/> rows.</summary>
    public RowMatrix(T[] data, int count, int dimension)
    {
        if ((long)count * dimension != data.Length)
            throw new ArgumentException($"{count} rows of {dimension} do not fill {data.Length} elements.", nameof(data));
        Data = data;
        Count = count;
        Dimension = dimension;
    }

    /// <summary>The rows, concatenated.</summary>
    public T[] Data { get; }

    /// <summary>Number of rows.</summary>
    public int Count { get; }

    /// <summary>Elements per row.</summary>
    public int Dimension { get; }

    /// <summary>Row <paramref name="i"/>.</summary>
    public ReadOnlySpan<T> Row(int i) => Data.AsSpan(i * Dimension, Dimension);

    /// <summary>Row <paramref name="i"/>, writable.</summary>
    public Span<T> MutableRow(int i) => Data.AsSpan(i * Dimension, Dimension);
}

/// <summary>
/// Readers and writers of the TEXMEX formats (<c>.fvecs</c>, <c>.ivecs</c>) used by ann-benchmarks and the
/// SIFT/GIST corpora: every vector is an int32 dimension followed by that many 4-byte components
/// (float32 or int32), all little-endian. All vectors of one file must share the dimension.
/// </summary>
public static class TexmexFormat
{
    private const int BufferSize = 1 << 20;

    /// <summary>Reads up to <paramref name="maxCount"/> float vectors; rejects NaN and infinities.</summary>
    /// <exception cref="BenchInputException">Missing, empty, truncated or inconsistent file.</exception>
    public static RowMatrix<float> ReadFvecs(string path, int maxCount = int.MaxValue)
    {
        RowMatrix<float> m = Read<float>(path, maxCount);
        for (int i = 0; i < m.Count; i++)
        {
            foreach (float x in m.Row(i))
            {
                if (!float.IsFinite(x))
                    throw new BenchInputException($"{path}: vector {i}: contains NaN or infinity");
            }
        }

        return m;
    }

    /// <summary>Reads up to <paramref name="maxCount"/> int vectors (e.g. ground-truth neighbour ids).</summary>
    /// <exception cref="BenchInputException">Missing, empty, truncated or inconsistent file.</exception>
    public static RowMatrix<int> ReadIvecs(string path, int maxCount = int.MaxValue) => Read<int>(path, maxCount);

    /// <summary>Writes float vectors (atomically: a temporary file renamed into place).</summary>
    public static void WriteFvecs(string path, RowMatrix<float> rows) => Write(path, rows);

    /// <summary>Writes int vectors (atomically: a temporary file renamed into place).</summary>
    public static void WriteIvecs(string path, RowMatrix<int> rows) => Write(path, rows);

    private static RowMatrix<T> Read<T>(string path, int maxCount)
        where T : unmanaged
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("TEXMEX files are little-endian; this reader assumes a little-endian machine.");
        if (!File.Exists(path))
            throw new BenchInputException($"{path}: file not found");

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.SequentialScan);
        long length = stream.Length;
        if (length < sizeof(int))
            throw new BenchInputException($"{path}: file is empty (or shorter than one header); expected at least one vector");

        Span<byte> header = stackalloc byte[sizeof(int)];
        stream.ReadExactly(header);
        int dim = BitConverter.ToInt32(header);
        if (dim <= 0)
            throw new BenchInputException($"{path}: vector 0: invalid dimension {dim}");

        long recordBytes = sizeof(int) + (long)dim * sizeof(int);
        long available = length / recordBytes; // complete records, if every header agrees
        long count = Math.Min(available == 0 ? 1 : available, maxCount);
        if (count * dim > Array.MaxLength)
            throw new BenchInputException($"{path}: {count} vectors of dimension {dim} exceed one array; use --limit-queries or a smaller file");

        var data = new T[count * dim];
        for (long i = 0; i < count; i++)
        {
            if (i > 0)
            {
                if (length - stream.Position < sizeof(int))
                    throw new BenchInputException($"{path}: vector {i}: truncated header ({length - stream.Position} trailing bytes)");
                stream.ReadExactly(header);
                int d = BitConverter.ToInt32(header);
                if (d != dim)
                    throw new BenchInputException($"{path}: vector {i}: dimension {d}, but vector 0 has dimension {dim}");
            }

            long remaining = length - stream.Position;
            if (remaining < (long)dim * sizeof(int))
                throw new BenchInputException($"{path}: vector {i}: truncated (needs {dim * sizeof(int)} bytes of components, {remaining} left)");
            stream.ReadExactly(MemoryMarshal.AsBytes(data.AsSpan((int)(i * dim), dim)));
        }

        // A whole file must end on a record boundary; a partial read (maxCount) need not.
        if (count < maxCount && stream.Position != length)
        {
            long rest = length - stream.Position;
            if (rest >= sizeof(int))
            {
                stream.ReadExactly(header);
                int d = BitConverter.ToInt32(header);
                if (d != dim)
                    throw new BenchInputException($"{path}: vector {count}: dimension {d}, but vector 0 has dimension {dim}");
            }

            throw new BenchInputException($"{path}: vector {count}: truncated ({rest} trailing bytes, a vector takes {recordBytes})");
        }

        return new RowMatrix<T>(data, (int)count, dim);
    }

    private static void Write<T>(string path, RowMatrix<T> rows)
        where T : unmanaged
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null)
            Directory.CreateDirectory(dir);
        string temp = path + ".partial";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, BufferSize))
        {
            Span<byte> header = stackalloc byte[sizeof(int)];
            BitConverter.TryWriteBytes(header, rows.Dimension);
            for (int i = 0; i < rows.Count; i++)
            {
                stream.Write(header);
                stream.Write(MemoryMarshal.AsBytes(rows.Row(i)));
            }
        }

        File.Move(temp, path, overwrite: true);
    }
}
