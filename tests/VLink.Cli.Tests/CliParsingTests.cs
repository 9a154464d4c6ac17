using VLink.Cli;
using VLink.Cli.Commands;

namespace VLink.Cli.Tests;

/// <summary>Flags are parsed and validated before anything starts; each refusal names the flag.</summary>
public sealed class CliParsingTests : IDisposable
{
    private readonly string _keys = Path.GetTempFileName();

    public void Dispose() => File.Delete(_keys);

    private static IReadOnlyList<string> Problems(params string[] args) => VLinkCli.Problems(VLinkCli.BuildRoot().Parse(args));

    private static void AssertRefused(string[] args, string expected)
    {
        var problems = Problems(args);
        Assert.True(problems.Any(p => p.Contains(expected, StringComparison.Ordinal)),
            $"expected a problem containing \"{expected}\" for 'vlink {string.Join(' ', args)}', got: {string.Join(" | ", problems)}");
    }

    [Fact]
    public void Node_defaults_map_onto_the_server_configuration()
    {
        var parse = VLinkCli.BuildRoot().Parse(["node"]);
        Assert.Empty(VLinkCli.Problems(parse));

        var args = ((NodeCommand)parse.CommandResult.Command).ServerArguments(parse);

        Assert.Equal(
            ["--VLink:HttpPort=6333", "--VLink:AkkaPort=4053", "--VLink:Host=127.0.0.1", "--VLink:DataDirectory=./vlink-data", "--VLink:Persistence=Sqlite"],
            args);
    }

    [Fact]
    public void Node_flags_map_onto_the_server_configuration()
    {
        var parse = VLinkCli.BuildRoot().Parse([
            "node", "--http-port", "7000", "--akka-port", "7001", "--host", "10.0.0.5", "--seed", "10.0.0.1:4053", "--seed", "node-b:4053",
            "--data", "/var/lib/vlink", "--persistence", "POSTGRES", "--connection", "Host=db;Database=vlink", "--api-keys", _keys]);
        Assert.Empty(VLinkCli.Problems(parse));

        var args = ((NodeCommand)parse.CommandResult.Command).ServerArguments(parse);

        Assert.Equal(
            [
                "--VLink:HttpPort=7000", "--VLink:AkkaPort=7001", "--VLink:Host=10.0.0.5", "--VLink:DataDirectory=/var/lib/vlink",
                "--VLink:Persistence=Postgres", "--VLink:Seeds:0=10.0.0.1:4053", "--VLink:Seeds:1=node-b:4053",
                "--VLink:Connection=Host=db;Database=vlink", $"--VLink:ApiKeysFile={Path.GetFullPath(_keys)}",
            ],
            args);
    }

    [Theory]
    [InlineData("--http-port 0", "--http-port: 0 is not a port")]
    [InlineData("--http-port 65536", "--http-port: 65536 is not a port")]
    [InlineData("--akka-port -1", "--akka-port: -1 is not a port")]
    [InlineData("--akka-port abc", "'abc'")]
    [InlineData("--http-port 5000 --akka-port 5000", "--http-port and --akka-port must differ")]
    [InlineData("--seed 10.0.0.1", "--seed: '10.0.0.1' is not HOST:PORT")]
    [InlineData("--seed 10.0.0.1:99999", "--seed: '10.0.0.1:99999' has an invalid port")]
    [InlineData("--seed :4053", "--seed: ':4053' is not HOST:PORT")]
    [InlineData("--seed a/b:4053", "--seed: 'a/b:4053' has an invalid host")]
    [InlineData("--host a@b", "--host: 'a@b' is not a host name")]
    [InlineData("--persistence mysql", "'mysql'")]
    [InlineData("--persistence postgres", "--connection is required with --persistence postgres")]
    [InlineData("--api-keys /no/such/keys.json", "--api-keys: '/no/such/keys.json' does not exist")]
    [InlineData("--bogus 1", "--bogus")]
    public void Node_refuses_bad_flags_naming_them(string flags, string expected) =>
        AssertRefused(["node", .. flags.Split(' ')], expected);

    [Fact]
    public void Postgres_with_a_connection_is_accepted() =>
        Assert.Empty(Problems("node", "--persistence", "postgres", "--connection", "Host=db;Database=vlink"));

    [Theory]
    [InlineData("collection create c --size 3", "--distance")]
    [InlineData("collection create c --size 0 --distance Dot", "--size: 0 must be between 1 and 65536")]
    [InlineData("collection create c --size 3 --distance Manhattan", "'Manhattan'")]
    [InlineData("collection create c --size 3 --distance Dot --m 1", "--m: 1 must be between 2 and 256")]
    [InlineData("collection create c --size 3 --distance Dot --shards 0", "--shards: 0 must be between 1 and 65536")]
    [InlineData("collection create c --size 3 --distance Dot --probes 2", "add --regions")]
    [InlineData("collection create c --size 3 --distance Dot --regions --train-size 0", "--train-size: 0 must be between 1 and 10000000")]
    [InlineData("search c --vector 1,2 --probes 0", "--probes: 0 must be between 1 and 65536")]
    [InlineData("collection list --url ftp://x", "--url: 'ftp://x' is not an http:// or https:// URL")]
    [InlineData("search c", "exactly one of --vector or --vector-file")]
    [InlineData("search c --vector 1,2 --vector-file v.txt", "exactly one of --vector or --vector-file")]
    [InlineData("search c --vector 1,2 --limit 0", "--limit: 0 must be between 1 and 10000")]
    [InlineData("search c --vector 1,2 --filter [1]", "--filter: expected a JSON object")]
    [InlineData("import points.csv", "--collection")]
    [InlineData("import points.csv --collection c --format xml", "'xml'")]
    [InlineData("import points.csv --collection c --batch-size 0", "--batch-size: 0 must be between 1 and 10000")]
    [InlineData("import points.csv --collection c --batch-size 10001", "--batch-size: 10001 must be between 1 and 10000")]
    [InlineData("export", "--collection")]
    [InlineData("cluster leave", "ADDR")]
    [InlineData("cluster frobnicate", "frobnicate")]
    public void Client_commands_refuse_bad_flags_naming_them(string line, string expected) =>
        AssertRefused(line.Split(' '), expected);

    [Fact]
    public void Region_collections_take_their_training_size_and_probes() =>
        Assert.Empty(Problems("collection", "create", "c", "--size", "3", "--distance", "Dot", "--shards", "8", "--regions", "--train-size", "5000", "--probes", "2"));

    [Fact]
    public void Distance_names_are_taken_in_any_case() =>
        Assert.Empty(Problems("collection", "create", "c", "--size", "3", "--distance", "euclid"));

    [Fact]
    public void Help_is_not_a_problem() => Assert.Empty(Problems("node", "--help"));

    [Theory]
    [InlineData("0.5,-1,2e-3", new[] { 0.5f, -1f, 2e-3f })]
    [InlineData(" 1 2\n3 ", new[] { 1f, 2f, 3f })]
    [InlineData("[1, 2.5, -3]", new[] { 1f, 2.5f, -3f })]
    public void Vectors_are_read_as_csv_whitespace_or_json(string text, float[] expected) =>
        Assert.Equal(expected, SearchCommand.ParseVector(text, "--vector"));

    [Theory]
    [InlineData("1,x,3", "component 1 ('x')")]
    [InlineData("", "the vector is empty")]
    [InlineData("[1,\"a\"]", "not a JSON array of numbers")]
    [InlineData("1,NaN", "component 1 ('NaN') is not a finite number")]
    public void Bad_vectors_are_refused_naming_the_component(string text, string expected)
    {
        var e = Assert.ThrowsAny<Exception>(() => SearchCommand.ParseVector(text, "--vector"));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.StartsWith("--vector: ", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "points.csv", "csv")]
    [InlineData(null, "points.NDJSON", "ndjson")]
    [InlineData(null, "points.jsonl", "ndjson")]
    [InlineData(null, "points.txt", null)]
    [InlineData("CSV", "points.ndjson", "csv")]
    public void Import_format_comes_from_the_flag_or_the_extension(string? flag, string file, string? expected) =>
        Assert.Equal(expected, TransferCommands.FormatOf(flag, file, "FILE"));
}
