using System.Text.Json;
using VLink.Core.Filtering;
using VLink.Core.Indexing;
using VLink.Core.Vectors;

namespace VLink.Core.Tests;

public class PayloadFilterTests
{
    private const string Uuid = "550e8400-e29b-41d4-a716-446655440000";

    private static JsonElement J(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    private static bool Eval(string filter, string payload, PointId? id = null) =>
        PayloadFilter.Parse(filter).Matches(id ?? new PointId(1UL), J(payload));

    private static bool Eval(Condition condition, string payload, PointId? id = null) =>
        new PayloadFilter(must: [condition]).Matches(id ?? new PointId(1UL), J(payload));

    private static FilterParseException ParseError(string filter) =>
        Assert.Throws<FilterParseException>(() => PayloadFilter.Parse(filter));

    // ---------------------------------------------------------------- parsing

    [Fact]
    public void Parse_ExampleFromQdrantDocs_BuildsEveryConditionKind()
    {
        var f = PayloadFilter.Parse($$$"""
            {"must":[
                {"key":"city","match":{"value":"London"}},
                {"key":"price","range":{"gte":10,"lt":20}},
                {"has_id":[1,"{{{Uuid}}}"]},
                {"must_not":[{"key":"sold","match":{"value":true}}]}
             ],
             "should":[
                {"key":"color","match":{"any":["red","blue"]}},
                {"key":"year","match":{"except":[2020,2021]}},
                {"is_empty":{"key":"reports"}},
                {"is_null":{"key":"owner"}},
                {"key":"count","match":{"value":-7}}
             ],
             "must_not":[{"key":"meta.flags[].name","range":{"gt":0.5,"lte":2}}]}
            """);

        Assert.Equal(4, f.Must.Count);
        var m0 = Assert.IsType<FieldMatch>(f.Must[0]);
        Assert.Equal("city", m0.Key);
        Assert.Equal(MatchValueKind.String, m0.Value.Kind);
        Assert.Equal("London", m0.Value.Text);
        var r = Assert.IsType<FieldRange>(f.Must[1]);
        Assert.Equal((null, 10.0, 20.0, null), (r.Gt, r.Gte, r.Lt, r.Lte));
        var ids = Assert.IsType<HasId>(f.Must[2]);
        Assert.Equal(2, ids.Ids.Count);
        Assert.Contains(new PointId(1UL), ids.Ids);
        Assert.Contains(new PointId(Uuid), ids.Ids);
        var nested = Assert.IsType<Nested>(f.Must[3]);
        Assert.Empty(nested.Filter.Must);
        var sold = Assert.IsType<FieldMatch>(Assert.Single(nested.Filter.MustNot));
        Assert.Equal(MatchValue.FromBool(true), sold.Value);

        Assert.Equal(5, f.Should.Count);
        Assert.Equal(["red", "blue"], Assert.IsType<FieldMatchAny>(f.Should[0]).Values.Select(v => v.Text));
        Assert.Equal([2020L, 2021L], Assert.IsType<FieldMatchExcept>(f.Should[1]).Values.Select(v => v.Integer));
        Assert.Equal("reports", Assert.IsType<IsEmpty>(f.Should[2]).Key);
        Assert.Equal("owner", Assert.IsType<IsNull>(f.Should[3]).Key);
        Assert.Equal(MatchValue.FromInteger(-7), Assert.IsType<FieldMatch>(f.Should[4]).Value);

        var r2 = Assert.IsType<FieldRange>(Assert.Single(f.MustNot));
        Assert.Equal("meta.flags[].name", r2.Key);
        Assert.Equal((0.5, null, null, 2.0), (r2.Gt, r2.Gte, r2.Lt, r2.Lte));
    }

    [Fact]
    public void Parse_EmptyFilterAndNulls_MatchEverything()
    {
        Assert.True(PayloadFilter.Parse("{}").IsEmpty);
        Assert.True(PayloadFilter.Parse("""{"must":null,"should":[],"must_not":null,"min_should":null}""").IsEmpty);
        Assert.True(Eval("{}", "{}"));
        Assert.True(Eval("""{"must":[{}]}""", """{"a":1}"""));
    }

    [Fact]
    public void Parse_SingleConditionInsteadOfList_IsAccepted()
    {
        var f = PayloadFilter.Parse("""{"must":{"key":"a","match":{"value":1}}}""");
        Assert.IsType<FieldMatch>(Assert.Single(f.Must));
    }

    [Fact]
    public void Parse_HasId_LargeUnsignedAndStringIds()
    {
        var f = PayloadFilter.Parse("""{"must":[{"has_id":[18446744073709551615, "abc", 0]}]}""");
        var ids = Assert.IsType<HasId>(Assert.Single(f.Must)).Ids;
        Assert.Equal(new HashSet<PointId> { ulong.MaxValue, "abc", 0UL }, ids.ToHashSet());
    }

    public static TheoryData<string, string, string> Errors => new()
    {
        { """{"must":[{"key":"a","match":{"value":"x"}},{"key":"p","range":{"gte":"ten"}}]}""", "filter.must[1].range.gte", "expected a number" },
        { """{"must":[{"key":"p","range":{"gte":true}}]}""", "filter.must[0].range.gte", "expected a number" },
        { """{"must":[{"key":"p","range":{"between":1}}]}""", "filter.must[0].range.between", "unknown field" },
        { """{"must":[{"key":"p","range":[1,2]}]}""", "filter.must[0].range", "expected an object" },
        { """[1]""", "filter", "expected a filter object" },
        { """{"must":5}""", "filter.must", "expected an array of conditions" },
        { """{"must":[7]}""", "filter.must[0]", "expected a condition object" },
        { """{"filter":[]}""", "filter.filter", "unknown field" },
        { """{"should":[{"key":"a"}]}""", "filter.should[0]", "needs match or range" },
        { """{"should":[{"key":"a","match":{"value":1},"range":{"gt":1}}]}""", "filter.should[0]", "only one of match or range" },
        { """{"should":[{"key":"","match":{"value":1}}]}""", "filter.should[0].key", "non-empty key" },
        { """{"should":[{"key":"a..b","match":{"value":1}}]}""", "filter.should[0].key", "empty segment" },
        { """{"should":[{"key":"a[0]","match":{"value":1}}]}""", "filter.should[0].key", "only 'name[]'" },
        { """{"should":[{"key":3,"match":{"value":1}}]}""", "filter.should[0].key", "expected a string" },
        { """{"should":[{"key":"a","match":{"value":1.5}}]}""", "filter.should[0].match.value", "expected an integer" },
        { """{"should":[{"key":"a","match":{"value":[1]}}]}""", "filter.should[0].match.value", "expected a string, an integer or a boolean" },
        { """{"should":[{"key":"a","match":{"any":"x"}}]}""", "filter.should[0].match.any", "expected an array" },
        { """{"should":[{"key":"a","match":{"any":["x",{}]}}]}""", "filter.should[0].match.any[1]", "expected a string" },
        { """{"should":[{"key":"a","match":{"except":[null]}}]}""", "filter.should[0].match.except[0]", "expected a string" },
        { """{"should":[{"key":"a","match":{"value":1,"any":[1]}}]}""", "filter.should[0].match.any", "only one of" },
        { """{"should":[{"key":"a","match":{}}]}""", "filter.should[0].match", "expected one of value, any or except" },
        { """{"should":[{"key":"a","match":{"text":"hello"}}]}""", "filter.should[0].match.text", "not supported" },
        { """{"should":[{"key":"a","geo_radius":{"center":{"lon":0,"lat":0},"radius":1}}]}""", "filter.should[0].geo_radius", "not supported" },
        { """{"should":[{"key":"a","values_count":{"gt":1}}]}""", "filter.should[0].values_count", "not supported" },
        { """{"must_not":[{"has_id":[1,-2]}]}""", "filter.must_not[0].has_id[1]", "unsigned integer" },
        { """{"must_not":[{"has_id":[1.5]}]}""", "filter.must_not[0].has_id[0]", "unsigned integer" },
        { """{"must_not":[{"has_id":[""]}]}""", "filter.must_not[0].has_id[0]", "non-empty string" },
        { """{"must_not":[{"has_id":1}]}""", "filter.must_not[0].has_id", "expected an array" },
        { """{"must_not":[{"has_id":[1],"key":"a"}]}""", "filter.must_not[0].key", "unexpected field next to has_id" },
        { """{"must_not":[{"is_empty":{"key":"a","x":1}}]}""", "filter.must_not[0].is_empty.x", "unknown field" },
        { """{"must_not":[{"is_null":{}}]}""", "filter.must_not[0].is_null", "missing key" },
        { """{"must_not":[{"nested":{"key":"a","filter":{}}}]}""", "filter.must_not[0].nested", "not supported" },
        { """{"must_not":[{"must":[],"key":"a","match":{"value":1}}]}""", "filter.must_not[0].must", "unknown field" },
        { """{"must":[{"should":[{"must_not":[{"key":"p","range":{"lt":"x"}}]}]}]}""", "filter.must[0].should[0].must_not[0].range.lt", "expected a number" },
        { """{"min_should":{"conditions":[],"min_count":1}}""", "filter.min_should", "not supported" },
        { """{"must":[],"must":[]}""", "filter.must", "duplicate" },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void Parse_BadInput_ThrowsWithJsonPath(string json, string path, string problem)
    {
        var e = ParseError(json);
        Assert.IsAssignableFrom<ArgumentException>(e);
        Assert.Equal(path, e.Path);
        Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_InvalidJsonText_Throws()
    {
        var e = ParseError("{\"must\": [");
        Assert.Equal("filter", e.Path);
        Assert.Contains("invalid JSON", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_CustomRootPath_PrefixesMessages()
    {
        var e = Assert.Throws<FilterParseException>(() => PayloadFilter.Parse(J("""{"must":[{"key":"a","range":{"gt":"1"}}]}"""), "body.filter"));
        Assert.Equal("body.filter.must[0].range.gt", e.Path);
    }

    private static string NestedJson(int levels)
    {
        // levels filters in total, the innermost holding one real condition
        string inner = """{"must":[{"key":"a","match":{"value":1}}]}""";
        for (int i = 1; i < levels; i++)
            inner = $$"""{"must":[{{inner}}]}""";
        return inner;
    }

    [Fact]
    public void Parse_NestingDepth_LimitedTo32()
    {
        var ok = PayloadFilter.Parse(NestedJson(PayloadFilter.MaxDepth));
        Assert.True(ok.Matches(1UL, J("""{"a":1}""")));
        Assert.False(ok.Matches(1UL, J("""{"a":2}""")));

        var e = ParseError(NestedJson(PayloadFilter.MaxDepth + 1));
        Assert.Contains("32", e.Message, StringComparison.Ordinal);
        Assert.Equal("filter" + string.Concat(Enumerable.Repeat(".must[0]", 32)), e.Path);
    }

    // ---------------------------------------------------------------- semantics

    [Theory]
    [InlineData("""{"city":"London"}""", true)]
    [InlineData("""{"city":"london"}""", false)]
    [InlineData("""{"city":["Paris","London"]}""", true)]
    [InlineData("""{"city":["Paris","Berlin"]}""", false)]
    [InlineData("""{"city":1}""", false)]
    [InlineData("""{"town":"London"}""", false)]
    [InlineData("""{"city":null}""", false)]
    [InlineData("""{"city":{"name":"London"}}""", false)]
    [InlineData("""{}""", false)]
    public void MatchString(string payload, bool expected) =>
        Assert.Equal(expected, Eval("""{"must":[{"key":"city","match":{"value":"London"}}]}""", payload));

    [Theory]
    [InlineData("""{"n":5}""", true)]
    [InlineData("""{"n":5.0}""", false)] // a float payload is not an integer (as in Qdrant)
    [InlineData("""{"n":"5"}""", false)]
    [InlineData("""{"n":[1,2,5]}""", true)]
    [InlineData("""{"n":6}""", false)]
    public void MatchInteger(string payload, bool expected) =>
        Assert.Equal(expected, Eval("""{"must":[{"key":"n","match":{"value":5}}]}""", payload));

    [Theory]
    [InlineData("""{"b":true}""", true, false)]
    [InlineData("""{"b":false}""", false, true)]
    [InlineData("""{"b":"true"}""", false, false)]
    [InlineData("""{"b":1}""", false, false)]
    [InlineData("""{"b":[false,true]}""", true, true)]
    public void MatchBool(string payload, bool matchesTrue, bool matchesFalse)
    {
        Assert.Equal(matchesTrue, Eval(new FieldMatch("b", true), payload));
        Assert.Equal(matchesFalse, Eval(new FieldMatch("b", false), payload));
    }

    [Theory]
    [InlineData("""{"c":"red"}""", true, false)]
    [InlineData("""{"c":"green"}""", false, true)]
    [InlineData("""{"c":["green","red"]}""", true, true)] // except: at least one element outside the list
    [InlineData("""{"c":["red","blue"]}""", true, false)]
    [InlineData("""{"c":[]}""", false, true)]
    [InlineData("""{"c":null}""", false, true)]
    [InlineData("""{}""", false, true)]
    [InlineData("""{"c":3}""", true, false)]
    [InlineData("""{"c":4}""", false, true)]
    public void MatchAnyAndExcept(string payload, bool any, bool except)
    {
        Assert.Equal(any, Eval("""{"must":[{"key":"c","match":{"any":["red","blue",3]}}]}""", payload));
        Assert.Equal(except, Eval("""{"must":[{"key":"c","match":{"except":["red","blue",3]}}]}""", payload));
    }

    [Fact]
    public void MatchAny_LargeStringList_UsesSetAndMatches()
    {
        var values = Enumerable.Range(0, 100).Select(i => (MatchValue)$"v{i}").ToArray();
        Assert.True(Eval(new FieldMatchAny("k", values), """{"k":"v57"}"""));
        Assert.False(Eval(new FieldMatchAny("k", values), """{"k":"v100"}"""));
        Assert.True(Eval(new FieldMatchExcept("k", values), """{"k":"w"}"""));
        Assert.False(Eval(new FieldMatchAny("k", []), """{"k":"v1"}"""));
    }

    [Fact]
    public void MatchString_EscapedPayloadText_ComparesUnescaped() =>
        Assert.True(Eval(new FieldMatch("k", "a\"b/é"), """{"k":"a\"b\/\u00e9"}"""));

    [Theory]
    [InlineData(9.999, false, false, true, true, false)]
    [InlineData(10, false, true, true, true, true)]
    [InlineData(15, true, true, true, true, true)]
    [InlineData(20, true, true, false, true, false)]
    [InlineData(20.001, true, true, false, false, false)]
    public void Range_EveryBound(double x, bool gt10, bool gte10, bool lt20, bool lte20, bool gte10lt20)
    {
        string payload = $$"""{"p":{{x.ToString(System.Globalization.CultureInfo.InvariantCulture)}}}""";
        Assert.Equal(gt10, Eval("""{"must":[{"key":"p","range":{"gt":10}}]}""", payload));
        Assert.Equal(gte10, Eval("""{"must":[{"key":"p","range":{"gte":10}}]}""", payload));
        Assert.Equal(lt20, Eval("""{"must":[{"key":"p","range":{"lt":20}}]}""", payload));
        Assert.Equal(lte20, Eval("""{"must":[{"key":"p","range":{"lte":20}}]}""", payload));
        Assert.Equal(gte10lt20, Eval("""{"must":[{"key":"p","range":{"gte":10,"lt":20}}]}""", payload));
        Assert.Equal(gt10 && lte20, Eval(new FieldRange("p", gt: 10, lte: 20), payload));
    }

    [Theory]
    [InlineData("""{"p":[1,15,30]}""", true)]
    [InlineData("""{"p":[1,30]}""", false)]
    [InlineData("""{"p":"15"}""", false)]
    [InlineData("""{"p":null}""", false)]
    [InlineData("""{}""", false)]
    [InlineData("""{"p":-1e300}""", false)]
    public void Range_ArraysAndNonNumbers(string payload, bool expected) =>
        Assert.Equal(expected, Eval(new FieldRange("p", gte: 10, lt: 20), payload));

    [Fact]
    public void Range_NoBounds_MatchesAnyNumber()
    {
        Assert.True(Eval(new FieldRange("p"), """{"p":-3.5}"""));
        Assert.False(Eval(new FieldRange("p"), """{"p":"x"}"""));
        Assert.Throws<ArgumentException>(() => new FieldRange("p", gt: double.NaN));
    }

    [Theory]
    [InlineData("""{"meta":{"city":"London"}}""", true)]
    [InlineData("""{"meta":{"city":["Rome","London"]}}""", true)]
    [InlineData("""{"meta":[{"city":"Rome"},{"city":"London"}]}""", true)]
    [InlineData("""{"meta":{"city":"Rome"}}""", false)]
    [InlineData("""{"meta":"London"}""", false)]
    [InlineData("""{"meta.city":"London"}""", false)]
    [InlineData("""{"city":"London"}""", false)]
    public void DottedPath(string payload, bool expected) =>
        Assert.Equal(expected, Eval(new FieldMatch("meta.city", "London"), payload));

    [Fact]
    public void DottedPath_ArrayStepsAndDeepNesting()
    {
        const string payload = """{"country":{"cities":[{"name":"A","population":5},{"name":"B","population":50}]},"a":{"b":{"c":{"d":[7]}}}}""";
        Assert.True(Eval(new FieldRange("country.cities[].population", gt: 10), payload));
        Assert.True(Eval(new FieldRange("country.cities.population", gt: 10), payload));
        Assert.False(Eval(new FieldRange("country.cities[].population", gt: 100), payload));
        Assert.True(Eval(new FieldMatch("a.b.c.d", 7), payload));
        Assert.False(Eval(new FieldMatch("a.b.c.d.e", 7), payload));
        Assert.False(Eval(new FieldMatch("a.b.x.d", 7), payload));
    }

    [Theory]
    [InlineData("""{}""", true, false)]
    [InlineData("""{"r":null}""", true, true)]
    [InlineData("""{"r":[]}""", true, false)]
    [InlineData("""{"r":[1]}""", false, false)]
    [InlineData("""{"r":0}""", false, false)]
    [InlineData("""{"r":""}""", false, false)]
    [InlineData("""{"r":{}}""", false, false)]
    public void IsEmptyAndIsNull(string payload, bool empty, bool isNull)
    {
        Assert.Equal(empty, Eval("""{"must":[{"is_empty":{"key":"r"}}]}""", payload));
        Assert.Equal(isNull, Eval("""{"must":[{"is_null":{"key":"r"}}]}""", payload));
    }

    [Fact]
    public void HasId_BothIdKinds()
    {
        string f = $$"""{"must":[{"has_id":[1, 42, "{{Uuid}}"]}]}""";
        Assert.True(Eval(f, "{}", 42UL));
        Assert.True(Eval(f, "{}", 1UL));
        Assert.True(Eval(f, "{}", Uuid));
        Assert.False(Eval(f, "{}", 2UL));
        Assert.False(Eval(f, "{}", "42"));
        Assert.False(Eval(f, "{}", Uuid.ToUpperInvariant()));
        Assert.True(Eval($$"""{"must_not":[{"has_id":["{{Uuid}}"]}]}""", "{}", 7UL));
    }

    [Theory]
    // must: all hold
    [InlineData("""{"must":[{"key":"a","match":{"value":1}},{"key":"b","match":{"value":2}}]}""", true)]
    [InlineData("""{"must":[{"key":"a","match":{"value":1}},{"key":"b","match":{"value":3}}]}""", false)]
    // should: at least one
    [InlineData("""{"should":[{"key":"a","match":{"value":9}},{"key":"b","match":{"value":2}}]}""", true)]
    [InlineData("""{"should":[{"key":"a","match":{"value":9}},{"key":"b","match":{"value":9}}]}""", false)]
    // must_not: none holds
    [InlineData("""{"must_not":[{"key":"a","match":{"value":9}},{"key":"b","match":{"value":9}}]}""", true)]
    [InlineData("""{"must_not":[{"key":"a","match":{"value":9}},{"key":"b","match":{"value":2}}]}""", false)]
    // combined: all three clauses must be satisfied
    [InlineData("""{"must":[{"key":"a","match":{"value":1}}],"should":[{"key":"c","match":{"value":"x"}}],"must_not":[{"key":"b","match":{"value":5}}]}""", true)]
    [InlineData("""{"must":[{"key":"a","match":{"value":1}}],"should":[{"key":"c","match":{"value":"y"}}],"must_not":[{"key":"b","match":{"value":5}}]}""", false)]
    [InlineData("""{"must":[{"key":"a","match":{"value":1}}],"should":[{"key":"c","match":{"value":"x"}}],"must_not":[{"key":"b","match":{"value":2}}]}""", false)]
    // nesting: a OR (b AND NOT c)
    [InlineData("""{"should":[{"key":"a","match":{"value":7}},{"must":[{"key":"b","match":{"value":2}}],"must_not":[{"key":"c","match":{"value":"y"}}]}]}""", true)]
    [InlineData("""{"should":[{"key":"a","match":{"value":7}},{"must":[{"key":"b","match":{"value":2}}],"must_not":[{"key":"c","match":{"value":"x"}}]}]}""", false)]
    // NOT (a AND b) = must_not of a nested must
    [InlineData("""{"must_not":[{"must":[{"key":"a","match":{"value":1}},{"key":"b","match":{"value":2}}]}]}""", false)]
    [InlineData("""{"must_not":[{"must":[{"key":"a","match":{"value":1}},{"key":"b","match":{"value":3}}]}]}""", true)]
    // an empty should inside a nested filter imposes nothing
    [InlineData("""{"must":[{"should":[],"must":[{"key":"a","match":{"value":1}}]}]}""", true)]
    // must_not of an empty filter excludes everything
    [InlineData("""{"must_not":[{}]}""", false)]
    public void BooleanClauses(string filter, bool expected) =>
        Assert.Equal(expected, Eval(filter, """{"a":1,"b":2,"c":"x"}"""));

    [Fact]
    public void MissingOrNonObjectPayload_BehavesAsEmptyObject()
    {
        var f = new PayloadFilter(must: [new IsEmpty("a")], mustNot: [new FieldMatch("a", 1)]);
        Assert.True(f.Matches(1UL, (JsonElement?)null));
        Assert.True(f.Matches(1UL, default(JsonElement)));
        Assert.True(f.Matches(1UL, J("[1,2]")));
        Assert.False(f.Matches(1UL, J("""{"a":1}""")));
        Assert.True(PayloadFilter.Empty.Matches(1UL, (JsonElement?)null));
    }

    [Fact]
    public void ProgrammaticModel_ValidatesArguments()
    {
        Assert.Throws<ArgumentException>(() => new FieldMatch("", 1));
        Assert.Throws<ArgumentException>(() => new FieldMatch("a.", 1));
        Assert.Throws<ArgumentException>(() => new PayloadFilter(must: [null!]));
        Assert.Throws<ArgumentNullException>(() => new PayloadFilterAdapter(PayloadFilter.Empty, null!));
    }

    [Fact]
    public void Evaluation_DoesNotAllocate()
    {
        var f = PayloadFilter.Parse("""
            {"must":[{"key":"meta.city","match":{"any":["Rome","London"]}},{"key":"price","range":{"gte":10,"lt":20}}],
             "should":[{"key":"tags","match":{"value":"b"}},{"has_id":[3]}],
             "must_not":[{"key":"tags","match":{"except":["a","b","c"]}},{"is_empty":{"key":"meta"}}]}
            """);
        var payload = J("""{"meta":{"city":"London"},"price":12.5,"tags":["a","b"]}""");
        Assert.True(f.Matches(1UL, payload));
        long before = GC.GetAllocatedBytesForCurrentThread();
        bool all = true;
        for (int i = 0; i < 1000; i++)
            all &= f.Matches(1UL, payload);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(all);
        Assert.Equal(0, allocated);
    }

    // ---------------------------------------------------------------- end to end through the index

    private static readonly string[] Cities = ["London", "Paris", "Rome", "Berlin", "Madrid"];

    [Fact]
    public void HnswIndex_WithAdapter_ExactEqualsBruteForce_AnnReturnsOnlyMatches()
    {
        const int n = 3000, dim = 16, k = 10;
        var data = TestData.Clustered(n, 30, dim, 10, seed: 777);
        var vectors = TestData.ById(data.Points);
        var rng = new Random(99);

        // Payloads: every 50th point has none; the rest have a city, a price, tags and a nested rank.
        var cityOf = new string[n];
        var priceOf = new double[n];
        var tagsOf = new string[n][];
        var rankOf = new int[n];
        var json = new System.Text.StringBuilder("[");
        for (int i = 0; i < n; i++)
        {
            if (i > 0)
                json.Append(',');
            if (i % 50 == 0)
            {
                json.Append("null");
                continue;
            }
            cityOf[i] = Cities[rng.Next(Cities.Length)];
            priceOf[i] = Math.Round(rng.NextDouble() * 100, 2);
            tagsOf[i] = [.. new[] { "new", "sale", "used" }.Where(_ => rng.Next(2) == 0)];
            rankOf[i] = rng.Next(10);
            json.Append(System.Globalization.CultureInfo.InvariantCulture,
                $$$"""{"city":"{{{cityOf[i]}}}","price":{{{priceOf[i].ToString(System.Globalization.CultureInfo.InvariantCulture)}}},"tags":[{{{string.Join(",", tagsOf[i].Select(t => $"\"{t}\""))}}}],"meta":{"rank":{{{rankOf[i]}}}}}""");
        }
        json.Append(']');
        using var doc = JsonDocument.Parse(json.ToString());
        var payloads = doc.RootElement.EnumerateArray().ToArray();
        JsonElement? Lookup(PointId id) => payloads[(int)id.Number].ValueKind == JsonValueKind.Null ? null : payloads[(int)id.Number];

        // (city in {London, Paris} AND 10 <= price < 70 AND NOT tag "used") OR rank 9 OR id 3000-ish hand-picked; not id 7.
        var filter = PayloadFilter.Parse("""
            {"should":[
                {"must":[{"key":"city","match":{"any":["London","Paris"]}},{"key":"price","range":{"gte":10,"lt":70}}],
                 "must_not":[{"key":"tags","match":{"value":"used"}}]},
                {"key":"meta.rank","match":{"value":9}},
                {"has_id":[100, 250]}
             ],
             "must_not":[{"has_id":[7]}]}
            """);
        bool Expected(PointId id)
        {
            int i = (int)id.Number;
            if (i == 7)
                return false;
            if (i == 100 || i == 250)
                return true;
            if (cityOf[i] is null)
                return false;
            bool first = (cityOf[i] == "London" || cityOf[i] == "Paris") && priceOf[i] >= 10 && priceOf[i] < 70 && !tagsOf[i].Contains("used");
            return first || rankOf[i] == 9;
        }

        int matching = vectors.Keys.Count(Expected);
        Assert.InRange(matching, n / 10, n / 2);

        var adapter = new PayloadFilterAdapter(filter, Lookup);
        foreach (var id in vectors.Keys)
            Assert.Equal(Expected(id), adapter.Matches(id));

        using var index = TestData.BuildHnsw(data.Points, DistanceMetric.Euclidean);
        Func<float[], float[], double> tol = (a, b) => TestData.Tolerance(DistanceMetric.Euclidean, a, b);
        double recall = 0;
        foreach (var q in data.Queries)
        {
            var truth = TestData.BruteForce(vectors, q, k, TestData.L2, Expected);
            var exact = index.Search(q, k, new SearchOptions { Filter = adapter, Exact = true });
            TestData.AssertExactTopK(exact, truth, q, vectors, TestData.L2, tol);
            Assert.Equal(truth.Select(t => t.Id), exact.Select(h => h.Id));

            var ann = index.Search(q, k, new SearchOptions { Filter = adapter });
            Assert.Equal(k, ann.Count);
            Assert.All(ann, h => Assert.True(Expected(h.Id), $"ANN hit {h.Id} does not match the filter"));
            recall += TestData.Recall(ann, truth);
        }
        Assert.True(recall / data.Queries.Length >= 0.9, $"filtered ANN recall {recall / data.Queries.Length:F3}");
    }
}
