using Orchestrator.Engine.Cluster;
using Orchestrator.Engine.Persistence;
using Xunit;

namespace Orchestrator.Cluster.Tests;

/// <summary>Cluster and journal settings: bad values fail at construction naming the option; the HOCON says what the docs say.</summary>
public sealed class SettingsTests
{
    [Theory]
    [InlineData("N1")]
    [InlineData("")]
    [InlineData("-n1")]
    [InlineData("n 1")]
    public void A_bad_node_name_is_refused_naming_the_option(string name)
    {
        var e = Assert.Throws<ArgumentException>(() => new ClusterSettings { NodeName = name });
        Assert.Equal(nameof(ClusterSettings.NodeName), e.ParamName);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.1:0")]
    [InlineData("host:70000")]
    [InlineData(":4053")]
    public void A_bad_seed_is_refused(string seed)
    {
        var e = Assert.Throws<ArgumentException>(() => new ClusterSettings { Seeds = [seed] });
        Assert.Contains("HOST:PORT", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_seed_becomes_an_address_of_the_orchestrator_system()
    {
        var address = ClusterSettings.SeedAddress("10.0.0.5:4053");
        Assert.Equal("akka.tcp://orchestrator@10.0.0.5:4053", address.ToString());
    }

    [Fact]
    public void The_cluster_hocon_configures_keep_majority_remembered_entities_and_bounded_shutdown()
    {
        var config = ClusterHocon.For(new ClusterSettings { NodeName = "n2", Port = 4052, StableAfter = TimeSpan.FromSeconds(5), ShutdownPhaseTimeout = TimeSpan.FromSeconds(2) });
        Assert.Equal("cluster", config.GetString("akka.actor.provider"));
        Assert.Equal(4052, config.GetInt("akka.remote.dot-netty.tcp.port"));
        Assert.Equal(["n2"], config.GetStringList("akka.cluster.roles"));
        Assert.Equal("keep-majority", config.GetString("akka.cluster.split-brain-resolver.active-strategy"));
        Assert.Equal(TimeSpan.FromSeconds(5), config.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after"));
        Assert.Contains("SplitBrainResolverProvider", config.GetString("akka.cluster.downing-provider-class"), StringComparison.Ordinal);
        Assert.True(config.GetBoolean("akka.cluster.sharding.remember-entities"));
        Assert.Equal("eventsourced", config.GetString("akka.cluster.sharding.remember-entities-store"));
        Assert.Equal(TimeSpan.FromSeconds(2), config.GetTimeSpan("akka.coordinated-shutdown.phases.cluster-exiting.timeout"));
        Assert.Empty(config.GetStringList("akka.cluster.seed-nodes"));
        Assert.Equal(TimeSpan.FromSeconds(60), config.GetTimeSpan("akka.cluster.shutdown-after-unsuccessful-join-seed-nodes"));
        Assert.False(config.GetBoolean("akka.remote.use-passive-connections"));
        Assert.Equal(TimeSpan.FromSeconds(2), config.GetTimeSpan("akka.cluster.retry-unsuccessful-join-after"));
        var patient = ClusterHocon.For(new ClusterSettings { JoinTimeout = TimeSpan.Zero });
        Assert.Equal("off", patient.GetString("akka.cluster.shutdown-after-unsuccessful-join-seed-nodes"));
    }

    /// <summary>
    /// The shard coordinator's remembered shards are journaled with sharding's serializer (id 13). A journal started
    /// before ClusterSharding.Get keeps the serialization it started with, so that serializer must be there from the
    /// system's creation: without it a restarted node could not read its remembered shards.
    /// </summary>
    [Fact]
    public async Task A_system_made_from_the_cluster_hocon_has_shardings_serializer_before_sharding_starts_and_never_passivates()
    {
        var config = ClusterHocon.For(new ClusterSettings { NodeName = "n1", Port = 0 });
        var system = Akka.Actor.ActorSystem.Create("serialization-check", config);
        try
        {
            var message = new Akka.Cluster.Sharding.ShardRegion.StartEntity("vm1");
            var serializer = Assert.IsAssignableFrom<Akka.Serialization.SerializerWithStringManifest>(system.Serialization.FindSerializerFor(message));
            Assert.Equal(13, serializer.Identifier);
            var back = system.Serialization.Deserialize(serializer.ToBinary(message), 13, serializer.Manifest(message));
            Assert.Equal(message, back);

            // And no idle entity is ever stopped: a disk's guest I/O does not go through sharding.
            Assert.Equal(TimeSpan.Zero, Akka.Cluster.Sharding.ClusterShardingSettings.Create(system).PassivateIdleEntityAfter);
        }
        finally
        {
            await system.Terminate();
        }
    }

    [Theory]
    [InlineData("postgres:Host=db;Port=5432;Database=o;Username=u;Password=p", JournalProvider.Postgres, "PostgreSQL.15")]
    [InlineData("postgresql:Host=db;Database=o", JournalProvider.Postgres, "PostgreSQL.15")]
    [InlineData("sqlite:/var/lib/orch/journal.db", JournalProvider.Sqlite, "SQLite.MS")]
    [InlineData("/var/lib/orch/journal.db", JournalProvider.Sqlite, "SQLite.MS")]
    public void The_journal_flag_picks_the_provider(string text, JournalProvider provider, string providerName)
    {
        var journal = JournalSettings.Parse(text);
        Assert.Equal(provider, journal.Provider);
        Assert.Equal(providerName, journal.ProviderName);
        var config = journal.ToConfig();
        Assert.Equal(providerName, config.GetString("akka.persistence.journal.sql.provider-name"));
        Assert.Equal(providerName, config.GetString("akka.persistence.snapshot-store.sql.provider-name"));
        Assert.Equal(journal.ConnectionString, config.GetString("akka.persistence.query.journal.sql.connection-string"));
    }

    [Theory]
    [InlineData("mysql:Server=x")]
    [InlineData("postgres:")]
    [InlineData("postgres:not a connection string")]
    public void A_bad_journal_is_refused_saying_what_is_accepted(string text)
    {
        var e = Assert.Throws<ArgumentException>(() => JournalSettings.Parse(text));
        Assert.Matches("journal provider|connection string", e.Message);
    }

    [Fact]
    public void The_password_stays_out_of_the_description()
    {
        var described = JournalSettings.Postgres("Host=db;Username=orch;Password=secret").Describe();
        Assert.DoesNotContain("secret", described, StringComparison.Ordinal);
        Assert.Contains("Password=***", described, StringComparison.Ordinal);
    }
}
