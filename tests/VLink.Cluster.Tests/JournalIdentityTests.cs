using System.Collections.Immutable;
using Akka.Actor;
using VLink.Cluster.Hosting;
using VLink.Cluster.Sharding;

namespace VLink.Cluster.Tests;

/// <summary>How nodes tell whether they share a journal, and what a shard coordinator does with one that does not.</summary>
public sealed class JournalIdentityTests
{
    private static NodeAddress Postgres(string connection, int port = 4053, params string[] seeds) =>
        new("127.0.0.1", port, seeds, PersistenceKind.Postgres, connection);

    private static NodeAddress Sqlite(string file, int port = 4053, params string[] seeds) =>
        new("127.0.0.1", port, seeds, PersistenceKind.Sqlite, $"Data Source={file};Pooling=True");

    [Fact]
    public void One_PostgreSQL_database_is_one_store_whatever_else_the_connection_string_says()
    {
        var a = JournalIdentity.Of(Postgres("Host=localhost;Port=5432;Database=vlink;Username=a;Password=secret"));
        var b = JournalIdentity.Of(Postgres("Server=127.0.0.1;Database=vlink;Username=b;Password=other;Timeout=3"));
        Assert.Equal(a.Role, b.Role);
        Assert.StartsWith("journal-postgres-", a.Role, StringComparison.Ordinal);
        Assert.NotEqual(a.Role, JournalIdentity.Of(Postgres("Host=localhost;Database=other")).Role);
        Assert.NotEqual(a.Role, JournalIdentity.Of(Postgres("Host=localhost;Port=5433;Database=vlink")).Role);
        Assert.NotEqual(a.Role, JournalIdentity.Of(Postgres("Host=db.internal;Database=vlink")).Role);
        // The description names the database, never the password.
        Assert.Equal("the PostgreSQL database vlink at 127.0.0.1:5432", a.Description);
        Assert.DoesNotContain("secret", a.Role + a.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void SQLite_files_are_one_store_only_when_they_are_the_same_file()
    {
        string dir = Path.GetTempPath();
        var one = JournalIdentity.Of(Sqlite(Path.Combine(dir, "n1", "vlink.db")));
        Assert.Equal(one.Role, JournalIdentity.Of(Sqlite(Path.Combine(dir, "n1", ".", "vlink.db"))).Role);
        Assert.NotEqual(one.Role, JournalIdentity.Of(Sqlite(Path.Combine(dir, "n2", "vlink.db"))).Role);
        Assert.StartsWith("journal-sqlite-", one.Role, StringComparison.Ordinal);
        Assert.NotEqual(one.Role, JournalIdentity.Of(Postgres("Host=localhost;Database=vlink")).Role);
    }

    [Fact]
    public void A_SQLite_node_may_name_only_itself_as_seed()
    {
        Assert.Null(JournalIdentity.RefusalOf(Sqlite("a.db")));
        Assert.Null(JournalIdentity.RefusalOf(Sqlite("a.db", 4053, "127.0.0.1:4053", "localhost:4053")));
        string? refusal = JournalIdentity.RefusalOf(Sqlite("a.db", 4054, "127.0.0.1:4053"));
        Assert.NotNull(refusal);
        Assert.Contains("127.0.0.1:4053", refusal, StringComparison.Ordinal);
        Assert.Contains("--persistence postgres", refusal, StringComparison.Ordinal);
        Assert.Null(JournalIdentity.RefusalOf(Postgres("Host=db;Database=vlink", 4054, "127.0.0.1:4053")));
    }

    [Fact]
    public void The_coordinator_never_offers_a_region_on_another_journal()
    {
        using var system = ActorSystem.Create("journal-identity-test");
        var own = system.ActorOf(Props.Empty, "own");
        var foreign = system.ActorOf(Props.Empty, "foreign");
        var unknown = system.ActorOf(Props.Empty, "unknown");
        IImmutableDictionary<IActorRef, IImmutableList<string>> allocations = ImmutableDictionary<IActorRef, IImmutableList<string>>.Empty
            .Add(own, ImmutableList.Create("1", "2"))
            .Add(foreign, ImmutableList<string>.Empty)
            .Add(unknown, ImmutableList<string>.Empty);
        var roles = new Dictionary<IActorRef, string?> { [own] = "journal-postgres-aaa", [foreign] = "journal-sqlite-bbb", [unknown] = null };

        var kept = ReplicaAllocationStrategy.SameJournal(allocations, "journal-postgres-aaa", r => roles[r]);

        Assert.Equal([own, unknown], kept.Keys.OrderBy(r => r.Path.Name, StringComparer.Ordinal).ToList());
        var withoutForeign = allocations.Remove(foreign);
        Assert.Same(withoutForeign, ReplicaAllocationStrategy.SameJournal(withoutForeign, "journal-postgres-aaa", r => roles[r]));
    }
}
