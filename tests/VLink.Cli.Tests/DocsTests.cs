using System.CommandLine;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using Akka.Configuration;
using Akka.Configuration.Hocon;
using VLink.Cli.Client;
using VLink.Server.Hosting;

namespace VLink.Cli.Tests;

/// <summary>
/// The documentation cannot drift from the code: every <c>vlink</c> command shown in README.md and docs/ parses, and
/// docs/configuration.md names every flag, server setting and HOCON key the code defines or reads.
/// </summary>
public sealed partial class DocsTests
{
    private static readonly string ConfigurationDoc = Path.Combine(Repository.Root, "docs", "configuration.md");

    // ---- commands shown in the docs ----

    /// <summary>Every <c>vlink</c> command line in a fenced shell block of README.md, docs/*.md and the folders' READMEs.</summary>
    public static TheoryData<string, int, string> DocumentedCommands()
    {
        var data = new TheoryData<string, int, string>();
        foreach (var (file, line, args) in DocCommands.All()) data.Add(file, line, string.Join('\u001f', args));
        return data;
    }

    [Theory]
    [MemberData(nameof(DocumentedCommands))]
    public void Every_vlink_command_in_the_docs_is_accepted_by_the_parser(string file, int line, string joinedArgs)
    {
        string[] args = joinedArgs.Length == 0 ? [] : joinedArgs.Split('\u001f');
        var problems = VLinkCli.Problems(VLinkCli.BuildRoot().Parse(args))
            // Examples name files a reader has (a key file, a points file); whether they exist here says nothing.
            .Where(p => !p.Contains("does not exist", StringComparison.Ordinal))
            .ToList();
        Assert.True(problems.Count == 0, $"{file}:{line}: 'vlink {string.Join(' ', args)}' is refused: {string.Join(" | ", problems)}");
    }

    [Fact]
    public void The_docs_show_the_commands_a_newcomer_runs()
    {
        var commands = DocCommands.All().ToList();
        // The two commands of the README, and the node commands of the cluster pages, are among those checked.
        Assert.Contains(commands, c => c.File == "README.md" && c.Args.SequenceEqual(["demo"]));
        Assert.Contains(commands, c => c.File == "docs/cli.md" && c.Args.FirstOrDefault() == "node" && c.Args.Contains("--seed"));
        Assert.True(commands.Count >= 20, $"only {commands.Count} vlink commands found in the docs' shell blocks: is the extraction broken?");
    }

    [Fact]
    public void The_README_has_exactly_two_set_up_commands_and_CI_runs_its_test_command()
    {
        string readme = File.ReadAllText(Path.Combine(Repository.Root, "README.md"));
        var blocks = DocCommands.ShellBlocks(readme).Select(b => string.Join('\n', b.Lines.Select(l => l.Text)).Trim()).Take(2).ToList();
        Assert.Equal(["dotnet run -c Release --project src/VLink.Cli -- demo", "dotnet test VLink.sln -c Release"], blocks);
        string ci = File.ReadAllText(Path.Combine(Repository.Root, ".ci", "run"));
        Assert.Contains(blocks[1], ci, StringComparison.Ordinal);
    }

    [Fact]
    public void Command_lines_are_read_like_a_shell_reads_them()
    {
        const string doc = """
            text
            ```sh
            export VLINK_API_KEY=abc   # a comment
            vlink search demo --vector "0.1,0.2" --filter '{"must": [{"key": "a", "match": {"value": "b c"}}]}'
            dotnet run -c Release --project src/VLink.Cli -- node \
                --http-port 6334 && vlink cluster show | head
            Logging__Console__FormatterName=json vlink node     # vlink demo in a comment is not a command
            ```
            ```json
            {"vlink": "not a command"}
            ```
            """;
        var found = DocCommands.In("x.md", doc).Select(c => (c.Line, string.Join(' ', c.Args))).ToList();
        Assert.Equal(
            [
                (4, "search demo --vector 0.1,0.2 --filter {\"must\": [{\"key\": \"a\", \"match\": {\"value\": \"b c\"}}]}"),
                (5, "node --http-port 6334"),
                (5, "cluster show"),
                (7, "node"),
            ],
            found);
    }

    // ---- container files ----

    /// <summary>The <c>command:</c> lists of docker/compose.yaml, one per node service (written as JSON arrays).</summary>
    private static List<string[]> ComposeCommands() =>
        [.. File.ReadAllLines(Path.Combine(Repository.Root, "docker", "compose.yaml"))
            .Select(line => ComposeCommand().Match(line))
            .Where(m => m.Success)
            .Select(m => System.Text.Json.JsonSerializer.Deserialize<string[]>(m.Groups[1].Value)!)];

    [Fact]
    public void The_compose_nodes_run_the_flags_the_multi_process_tests_run_plus_the_PostgreSQL_journal()
    {
        var commands = ComposeCommands();
        Assert.Equal(3, commands.Count);
        var hosts = new HashSet<string>();
        foreach (string[] args in commands)
        {
            var parse = VLinkCli.BuildRoot().Parse(args);
            var problems = VLinkCli.Problems(parse).Where(p => !p.Contains("does not exist", StringComparison.Ordinal)).ToList();
            Assert.True(problems.Count == 0, $"'vlink {string.Join(' ', args)}' is refused: {string.Join(" | ", problems)}");
            string Value(string flag) => args[Array.IndexOf(args, flag) + 1];
            // The tests' command line with the compose values, then the journal: nothing else, nothing in another order.
            string seed = Value("--seed");
            var spec = new NodeSpec(Value("--data"), int.Parse(Value("--http-port"), CultureInfo.InvariantCulture),
                int.Parse(Value("--akka-port"), CultureInfo.InvariantCulture), [int.Parse(seed[(seed.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture)],
                Value("--api-keys")) { PostgresConnection = Value("--connection") };
            Assert.Equal(NodeProcess.Arguments(spec, Value("--host"), seed[..seed.LastIndexOf(':')]), args);
            Assert.StartsWith("/run/secrets/", Value("--api-keys"), StringComparison.Ordinal);
            hosts.Add(Value("--host"));
        }
        Assert.Equal(3, hosts.Count);
    }

    [Fact]
    public void The_image_runs_vlink_node_as_a_non_root_user_with_a_readiness_check()
    {
        string[] lines = File.ReadAllLines(Path.Combine(Repository.Root, "docker", "Dockerfile"));
        string Instruction(string name) => lines.Last(l => l.StartsWith(name + " ", StringComparison.Ordinal))[(name.Length + 1)..];
        Assert.Equal(["dotnet", "/app/vlink.dll"], System.Text.Json.JsonSerializer.Deserialize<string[]>(Instruction("ENTRYPOINT"))!);
        string[] command = System.Text.Json.JsonSerializer.Deserialize<string[]>(Instruction("CMD"))!;
        Assert.Equal("node", command[0]);
        Assert.Empty(VLinkCli.Problems(VLinkCli.BuildRoot().Parse(command)));
        Assert.Contains("/readyz", Instruction("HEALTHCHECK"), StringComparison.Ordinal);
        Assert.DoesNotMatch("^(root|0)$", Instruction("USER"));
        Assert.True(lines.Count(l => l.StartsWith("FROM ", StringComparison.Ordinal)) >= 2, "a multi-stage build");
    }

    // ---- notebooks ----

    [Fact]
    public void The_committed_notebooks_carry_their_outputs_and_no_errors()
    {
        var notebooks = Directory.GetFiles(Path.Combine(Repository.Root, "notebooks"), "*.ipynb").Order(StringComparer.Ordinal).ToList();
        Assert.True(notebooks.Count >= 3, $"expected the three notebooks, found {notebooks.Count}");
        foreach (string file in notebooks)
        {
            using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(file));
            var cells = json.RootElement.GetProperty("cells").EnumerateArray()
                .Where(c => c.GetProperty("cell_type").GetString() == "code")
                .ToList();
            string name = Path.GetFileName(file);
            Assert.All(cells, c => Assert.True(c.GetProperty("execution_count").ValueKind == System.Text.Json.JsonValueKind.Number,
                $"{name}: a code cell was not executed (run notebooks/run.sh --inplace)"));
            var outputs = cells.SelectMany(c => c.GetProperty("outputs").EnumerateArray()).ToList();
            Assert.DoesNotContain(outputs, o => o.GetProperty("output_type").GetString() == "error");
            Assert.Contains(outputs, o => o.TryGetProperty("data", out var data) && data.TryGetProperty("image/png", out _));
        }
    }

    // ---- the configuration reference ----

    [Fact]
    public void The_configuration_reference_lists_every_flag_as_the_parser_defines_it()
    {
        string doc = File.ReadAllText(ConfigurationDoc);
        const string begin = "<!-- BEGIN generated flags: DocsTests.FlagTable -->";
        const string end = "<!-- END generated flags -->";
        int from = doc.IndexOf(begin, StringComparison.Ordinal);
        int to = doc.IndexOf(end, StringComparison.Ordinal);
        Assert.True(from >= 0 && to > from, $"docs/configuration.md lacks the markers {begin} ... {end}");
        string current = doc[(from + begin.Length)..to].Trim('\n');
        string expected = FlagTable().Trim('\n');
        if (current != expected && Environment.GetEnvironmentVariable("VLINK_UPDATE_DOCS") == "1")
        {
            File.WriteAllText(ConfigurationDoc, doc[..(from + begin.Length)] + "\n" + expected + "\n" + doc[to..]);
            return;
        }
        Assert.True(current == expected,
            "docs/configuration.md's flag table differs from the command line's definitions; regenerate it with " +
            "VLINK_UPDATE_DOCS=1 dotnet test tests/VLink.Cli.Tests -c Release --filter FullyQualifiedName~DocsTests, then review the diff.\n" +
            $"expected:\n{expected}");
    }

    [Fact]
    public void The_configuration_reference_names_every_server_setting()
    {
        string doc = File.ReadAllText(ConfigurationDoc);
        var missing = SettingNames(typeof(VLinkServerOptions), VLinkServerOptions.Section)
            .Where(name => !doc.Contains($"`{name}`", StringComparison.Ordinal))
            .ToList();
        Assert.True(missing.Count == 0, $"docs/configuration.md does not name: {string.Join(", ", missing)}");
    }

    [Fact]
    public void The_configuration_reference_names_every_HOCON_key_we_set()
    {
        string doc = File.ReadAllText(ConfigurationDoc);
        string hocon = Path.Combine(Repository.Root, "hocon");
        var keys = Directory.GetFiles(hocon, "*.conf")
            .SelectMany(file => LeafKeys(ConfigurationFactory.ParseString(File.ReadAllText(file)).Root, ""))
            .Distinct()
            .ToList();
        Assert.Contains("vlink.gather.timeout", keys);
        var missing = keys.Where(key => !doc.Contains($"`{key}`", StringComparison.Ordinal)).ToList();
        Assert.True(missing.Count == 0, $"docs/configuration.md does not name these keys of hocon/*.conf: {string.Join(", ", missing)}");
    }

    [Fact]
    public void Every_vlink_HOCON_key_the_code_reads_has_a_default_in_vlink_conf_and_is_documented()
    {
        string doc = File.ReadAllText(ConfigurationDoc);
        var conf = ConfigurationFactory.ParseString(File.ReadAllText(Path.Combine(Repository.Root, "hocon", "vlink.conf")));
        var read = Directory.GetFiles(Path.Combine(Repository.Root, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(File.ReadAllText)
            .Where(text => text.Contains("GetConfig(\"vlink\")", StringComparison.Ordinal))
            .SelectMany(text => ConfigRead().Matches(text).Select(m => "vlink." + m.Groups[1].Value))
            .Distinct()
            .ToList();
        Assert.Contains("vlink.snapshot-every", read);
        var problems = read
            .Where(key => !conf.HasPath(key) || !doc.Contains($"`{key}`", StringComparison.Ordinal))
            .ToList();
        Assert.True(problems.Count == 0, $"read by the code but missing from hocon/vlink.conf or docs/configuration.md: {string.Join(", ", problems)}");
    }

    [Fact]
    public void The_configuration_reference_names_the_environment_variables_the_code_reads()
    {
        string doc = File.ReadAllText(ConfigurationDoc);
        var variables = Directory.GetFiles(Path.Combine(Repository.Root, "src"), "*.cs", SearchOption.AllDirectories)
            .Concat(Directory.GetFiles(Path.Combine(Repository.Root, "notebooks"), "*.ipynb"))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => EnvironmentVariable().Matches(File.ReadAllText(f)).Select(m => m.Value))
            .Distinct()
            .ToList();
        Assert.Contains("VLINK_API_KEY", variables);
        var missing = variables.Where(v => !doc.Contains($"`{v}`", StringComparison.Ordinal)).ToList();
        Assert.True(missing.Count == 0, $"docs/configuration.md does not name: {string.Join(", ", missing)}");
    }

    /// <summary>The flag table of docs/configuration.md: every command with flags, each flag with its value, default and meaning.</summary>
    internal static string FlagTable()
    {
        var text = new StringBuilder();
        text.Append("| command | flag | value | default | meaning |\n|---|---|---|---|---|\n");
        var clientFlags = new SortedDictionary<string, Option>(StringComparer.Ordinal);
        foreach (var (path, command) in Commands(VLinkCli.BuildRoot(), "vlink"))
        {
            foreach (var argument in command.Arguments)
                text.Append(CultureInfo.InvariantCulture, $"| `{path}` | {argument.Name.ToUpperInvariant()} (argument) | | | {Cell(argument.Description)} |\n");
            foreach (var option in command.Options.Where(o => o is not System.CommandLine.Help.HelpOption and not VersionOption))
            {
                // The client flags every command that talks to a node shares are listed once, at the end.
                if (option.Name is ClientOptions.UrlName or ClientOptions.ApiKeyName)
                {
                    clientFlags[option.Name] = option;
                    continue;
                }
                string value = option.ValueType == typeof(bool) ? "" : $"`{Cell(option.HelpName ?? option.Name.TrimStart('-').ToUpperInvariant())}`";
                string @default = option.Required ? "required" : DefaultOf(option);
                string repeat = option.ValueType.IsArray ? " (repeatable)" : "";
                text.Append(CultureInfo.InvariantCulture, $"| `{path}` | `{option.Name}`{repeat} | {value} | {@default} | {Cell(option.Description)} |\n");
            }
        }
        foreach (var option in clientFlags.Values.Reverse())
            text.Append(CultureInfo.InvariantCulture, $"| every command but `demo` and `node` | `{option.Name}` | `{option.HelpName}` | {DefaultOf(option)} | {Cell(option.Description)} |\n");
        return text.ToString();
    }

    private static IEnumerable<(string Path, Command Command)> Commands(Command command, string path)
    {
        bool hasOwn = command.Arguments.Count > 0 || command.Options.Any(o => o is not System.CommandLine.Help.HelpOption and not VersionOption);
        if (hasOwn && command is not RootCommand) yield return (path, command);
        foreach (var sub in command.Subcommands)
            foreach (var item in Commands(sub, $"{path} {sub.Name}"))
                yield return item;
    }

    private static string DefaultOf(Option option)
    {
        if (option.ValueType == typeof(bool)) return "off";
        if (!option.HasDefaultValue) return "";
        object? value = option.GetDefaultValue();
        return value switch
        {
            null => "",
            string s => $"`{s}`",
            IFormattable f => $"`{f.ToString(null, CultureInfo.InvariantCulture)}`",
            _ => $"`{value}`",
        };
    }

    private static string Cell(string? text) => (text ?? "").Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);

    /// <summary>Configuration keys of an options class, as <c>Section:Name</c> (list items as <c>Section:Name:N:Item</c>).</summary>
    private static IEnumerable<string> SettingNames(Type type, string prefix)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            string name = $"{prefix}:{property.Name}";
            yield return name;
            var item = property.PropertyType.IsGenericType && property.PropertyType.GetGenericTypeDefinition() == typeof(List<>)
                ? property.PropertyType.GetGenericArguments()[0]
                : null;
            if (item is not null && item.IsClass && item != typeof(string))
                foreach (string inner in SettingNames(item, $"{name}:0"))
                    yield return inner;
        }
    }

    private static IEnumerable<string> LeafKeys(HoconValue value, string prefix)
    {
        if (!value.IsObject())
        {
            yield return prefix;
            yield break;
        }
        foreach (var (key, child) in value.GetObject().Items)
        {
            // Keys holding dots or spaces (type names of serialization bindings) are quoted in HOCON; they are values
            // of their parent table, which is the key the reference names.
            if (key.Contains('.', StringComparison.Ordinal) || key.Contains(' ', StringComparison.Ordinal))
            {
                yield return prefix;
                continue;
            }
            string path = prefix.Length == 0 ? key : $"{prefix}.{key}";
            foreach (string leaf in LeafKeys(child, path)) yield return leaf;
        }
    }

    [GeneratedRegex("""\.Get(?:Int|Long|String|TimeSpan|Double|Boolean)\(\s*"([a-z0-9.-]+)"\s*[,)]""")]
    private static partial Regex ConfigRead();

    [GeneratedRegex("""^\s*command:\s*(\[.*\])\s*$""")]
    private static partial Regex ComposeCommand();

    [GeneratedRegex(@"\bVLINK_[A-Z_]+\b")]
    private static partial Regex EnvironmentVariable();
}

/// <summary>The repository this test run was built from.</summary>
internal static class Repository
{
    /// <summary>The folder holding VLink.sln, found upwards from the test's output folder.</summary>
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "VLink.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException($"no VLink.sln above {AppContext.BaseDirectory}");
    }
}

/// <summary>Shell command lines in Markdown fenced blocks, read as a POSIX shell splits them.</summary>
internal static class DocCommands
{
    private static readonly HashSet<string> ShellLanguages = ["sh", "bash", "shell", "console", "zsh"];

    /// <summary>A fenced block of a shell language: its lines with their numbers (from 1).</summary>
    internal sealed record Block(IReadOnlyList<(int Number, string Text)> Lines);

    /// <summary>The files whose commands are checked: README.md, docs/*.md and the READMEs of notebooks/ and docker/.</summary>
    public static IEnumerable<string> Files()
    {
        yield return "README.md";
        foreach (string file in Directory.GetFiles(Path.Combine(Repository.Root, "docs"), "*.md").Order(StringComparer.Ordinal))
            yield return "docs/" + Path.GetFileName(file);
        foreach (string folder in new[] { "notebooks", "docker" })
            if (File.Exists(Path.Combine(Repository.Root, folder, "README.md"))) yield return $"{folder}/README.md";
    }

    public static IEnumerable<(string File, int Line, string[] Args)> All() =>
        Files().SelectMany(file => In(file, File.ReadAllText(Path.Combine(Repository.Root, file))));

    public static IEnumerable<Block> ShellBlocks(string markdown)
    {
        string[] lines = markdown.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            string fence = lines[i].TrimStart();
            if (!fence.StartsWith("```", StringComparison.Ordinal)) continue;
            string language = fence[3..].Trim();
            var body = new List<(int, string)>();
            int j = i + 1;
            for (; j < lines.Length && !lines[j].TrimStart().StartsWith("```", StringComparison.Ordinal); j++) body.Add((j + 1, lines[j].TrimEnd('\r')));
            if (ShellLanguages.Contains(language)) yield return new Block(body);
            i = j;
        }
    }

    /// <summary>The vlink invocations of one Markdown text: (file, line of the command's start, arguments after <c>vlink</c>).</summary>
    public static IEnumerable<(string File, int Line, string[] Args)> In(string file, string markdown)
    {
        foreach (var block in ShellBlocks(markdown))
        {
            for (int i = 0; i < block.Lines.Count; i++)
            {
                int start = block.Lines[i].Number;
                var text = new StringBuilder(block.Lines[i].Text);
                // A trailing backslash continues the command on the next line.
                while (text.Length > 0 && text[^1] == '\\' && i + 1 < block.Lines.Count)
                {
                    text.Length--;
                    text.Append(' ').Append(block.Lines[++i].Text);
                }
                foreach (var command in Split(text.ToString()))
                    if (VLinkArguments(command) is { } args) yield return (file, start, args);
            }
        }
    }

    /// <summary>
    /// The words of each simple command of a line (split at <c>|</c>, <c>&amp;&amp;</c>, <c>||</c>, <c>;</c> and
    /// <c>&amp;</c>), quotes removed, a comment dropped; variables are left as written.
    /// </summary>
    public static List<List<string>> Split(string line)
    {
        var commands = new List<List<string>>();
        var words = new List<string>();
        var word = new StringBuilder();
        bool inWord = false;
        void EndWord()
        {
            if (inWord) words.Add(word.ToString());
            word.Clear();
            inWord = false;
        }
        void EndCommand()
        {
            EndWord();
            if (words.Count > 0) commands.Add(words);
            words = [];
        }
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            switch (c)
            {
                case '\'':
                    {
                        int close = line.IndexOf('\'', i + 1);
                        if (close < 0) close = line.Length;
                        word.Append(line, i + 1, close - i - 1);
                        inWord = true;
                        i = close;
                        break;
                    }
                case '"':
                    {
                        inWord = true;
                        for (i++; i < line.Length && line[i] != '"'; i++)
                        {
                            if (line[i] == '\\' && i + 1 < line.Length && line[i + 1] is '"' or '\\' or '$' or '`') i++;
                            word.Append(line[i]);
                        }
                        break;
                    }
                case '\\' when i + 1 < line.Length:
                    word.Append(line[++i]);
                    inWord = true;
                    break;
                case '#' when !inWord:
                    EndCommand();
                    return commands;
                case ' ' or '\t':
                    EndWord();
                    break;
                case '|' or ';' or '&':
                    EndCommand();
                    if (i + 1 < line.Length && line[i + 1] == c) i++;
                    break;
                default:
                    word.Append(c);
                    inWord = true;
                    break;
            }
        }
        EndCommand();
        return commands;
    }

    /// <summary>The arguments given to vlink by a simple command, or null when it does not run vlink.</summary>
    public static string[]? VLinkArguments(List<string> words)
    {
        int first = 0;
        while (first < words.Count && Regex.IsMatch(words[first], "^[A-Za-z_][A-Za-z0-9_]*=")) first++;
        var rest = words.Skip(first).ToList();
        if (rest.Count == 0) return null;
        if (rest[0] == "vlink") return [.. rest.Skip(1)];
        if (rest[0] != "dotnet") return null;
        if (rest.Count > 1 && rest[1].EndsWith("vlink.dll", StringComparison.Ordinal)) return [.. rest.Skip(2)];
        int project = rest.IndexOf("--project");
        if (rest.Count > 1 && rest[1] == "run" && project > 0 && project + 1 < rest.Count && rest[project + 1].TrimEnd('/') == "src/VLink.Cli")
        {
            int separator = rest.IndexOf("--");
            return separator < 0 ? [] : [.. rest.Skip(separator + 1)];
        }
        return null;
    }
}
