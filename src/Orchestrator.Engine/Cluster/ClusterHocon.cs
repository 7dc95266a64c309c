using System.Globalization;
using Akka.Cluster.Sharding;
using Akka.Configuration;

namespace Orchestrator.Engine.Cluster;

/// <summary>
/// The cluster's HOCON, the same for the node and the in-process test clusters: remoting, membership with the node's
/// name as its role, the split-brain resolver, sharding that remembers its entities in the journal, and coordinated
/// shutdown bounded per phase. The commented reference is cluster-config/cluster.conf.
/// </summary>
public static class ClusterHocon
{
    /// <summary>
    /// Sharding's own configuration (with cluster singleton's and distributed data's) is part of the system's from its
    /// creation. Left to ClusterSharding.Get, it is injected later, which rebuilds the system's serialization: a journal
    /// that started before that (the event log's) kept the old one, could not read the shard coordinator's remembered
    /// shards (serializer 13 unknown), and a restarted node then left its remembered shards unallocated.
    /// </summary>
    public static Config For(ClusterSettings settings) => Own(settings).WithFallback(ModuleDefaults);

    /// <summary>Sharding's, cluster singleton's and distributed data's reference configuration.</summary>
    public static Config ModuleDefaults =>
        ClusterSharding.DefaultConfig().WithFallback(Akka.Cluster.Tools.Singleton.ClusterSingleton.DefaultConfig());

    /// <summary>This cluster's settings alone, without the modules' defaults under them.</summary>
    public static Config Own(ClusterSettings settings) => ConfigurationFactory.ParseString($$"""
        akka {
          actor.provider = cluster
          # Each node sends over a connection it opened itself, never over one a peer opened to it. With Akka's default
          # (on), after a SIGKILLed node came back at the same address, a survivor's messages to the new incarnation were
          # now and then lost for good (InitJoinAck, heartbeat replies): its joins went unanswered, or it was let in
          # through another member, saw the survivor unreachable, and the resolver downed them both as indirectly
          # connected. With this, 0 of 12 restarts stuck and 0 of 4 fleet crash runs failed; without, 2 stuck joins and
          # 3 of 4 failed runs.
          remote.use-passive-connections = off
          remote.dot-netty.tcp {
            hostname = "{{settings.Hostname}}"
            port = {{settings.Port}}
          }
          cluster {
            roles = [{{string.Join(", ", settings.Roles.Select(r => $"\"{r}\""))}}]
            # No seed-nodes here: ClusterJoin joins the seeds, or the node itself, in code (one path for both).
            # Past this, a node that has not joined its seeds runs coordinated shutdown and the process exits (ClusterExit).
            shutdown-after-unsuccessful-join-seed-nodes = {{(settings.JoinTimeout == TimeSpan.Zero ? "off" : Seconds(settings.JoinTimeout))}}
            # A node restarted at once after a crash asks to join while its old incarnation is still a member: that first
            # Join only gets the old one downed and removed, and Akka asks again after this (its default, 10 s, was most of
            # such a restart's 15-17 s, now 8-10 s). A node that has become a member does not ask again.
            retry-unsuccessful-join-after = 2s
            failure-detector {
              heartbeat-interval = 1s
              acceptable-heartbeat-pause = {{Seconds(settings.HeartbeatPause)}}
            }
            downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
            split-brain-resolver {
              active-strategy = keep-majority
              stable-after = {{Seconds(settings.StableAfter)}}
              # A membership that keeps changing (flapping links) downs everyone rather than guessing, once it has been
              # unstable this long past stable-after. Akka's "on" is 3/4 of stable-after: with a short stable-after
              # (2 s in the crash tests) a killed node's restart on a loaded machine downed the whole cluster.
              down-all-when-unstable = {{Seconds(DownAllWhenUnstable(settings.StableAfter))}}
            }
            sharding {
              remember-entities = on
              # Remembered shards and entities live in the journal (SQLite or PostgreSQL), not in LMDB files.
              remember-entities-store = eventsourced
              state-store-mode = ddata
              distributed-data.durable.keys = []
              # Never stop an idle entity (sharding's default is 120 s when entities are not remembered): a disk's entity
              # holds its open images and NBD export, which the guest uses without any message through sharding.
              passivate-idle-entity-after = off
              # A command for a shard whose host is not Up yet waits in its region, which asks again this often.
              retry-interval = 1s
              # A disk entity that stopped in recovery comes back soon, as the QuarantinedDisk that says why.
              entity-restart-backoff = 1s
            }
          }
          coordinated-shutdown.phases {
            cluster-sharding-shutdown-region.timeout = {{Seconds(settings.ShutdownPhaseTimeout)}}
            cluster-leave.timeout = {{Seconds(settings.ShutdownPhaseTimeout)}}
            cluster-exiting.timeout = {{Seconds(settings.ShutdownPhaseTimeout)}}
          }
        }
        """);

    /// <summary>Akka's default (3/4 of stable-after), but never under 15 s.</summary>
    public static TimeSpan DownAllWhenUnstable(TimeSpan stableAfter) => TimeSpan.FromTicks(Math.Max(stableAfter.Ticks * 3 / 4, TimeSpan.FromSeconds(15).Ticks));

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + "s";
}
