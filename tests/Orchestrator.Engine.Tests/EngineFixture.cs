using Akka.Actor;
using Akka.Configuration;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Engine.Cluster;
using Orchestrator.Qcow2;
using Orchestrator.Qcow2.Chain;

namespace Orchestrator.Engine.Tests;

/// <summary>Helpers shared by the engine tests: an actor system on a SQLite journal in a temp folder, and chains built with our writer.</summary>
internal static class EngineFixture
{
    /// <summary>A lone cluster node's HOCON (join it with ClusterOfOne.Join) on a SQLite journal.</summary>
    public static Config SqliteConfig(string databasePath, string logLevel = "INFO", string nodeName = EngineNode.DefaultName) =>
        ClusterOfOne.Config(nodeName).WithFallback(SqliteJournalConfig.For(databasePath, logLevel));

    /// <summary>
    /// A chain A &lt;- B &lt;- C &lt;- D of <paramref name="size"/> bytes with seeded data in every layer; returns the paths, bottom first.
    /// <paramref name="prefix"/> makes file names unique across tests (fault injection matches by file name).
    /// </summary>
    public static IReadOnlyList<string> BuildChain(string dir, long size, int seed, int layers = 4, int clusterSize = 65536, string prefix = "")
    {
        var random = new Random(seed);
        var paths = new List<string>();
        var buffer = new byte[8 * clusterSize];
        for (var i = 0; i < layers; i++)
        {
            var path = Path.Combine(dir, $"{prefix}{(char)('A' + i)}.qcow2");
            Qcow2Image.Create(path, new ImageCreateOptions
            {
                Size = size,
                ClusterSize = clusterSize,
                BackingFile = i == 0 ? null : Path.GetFileName(paths[^1]),
                BackingFormat = "qcow2",
            }).Dispose();
            using var chain = ImageChain.Open(path, new ChainOpenOptions { WritableTop = true });
            for (var w = 0; w < 24; w++)
            {
                var length = random.Next(1, 9) * clusterSize;
                var offset = random.NextInt64(0, (size - length) / 512) * 512;
                random.NextBytes(buffer.AsSpan(0, length));
                chain.Write(offset, buffer.AsSpan(0, length));
            }

            chain.Flush();
            paths.Add(path);
        }

        return paths;
    }

    /// <summary>
    /// A &lt;- B &lt;- C: A sparse, B fully allocated with random data, C an empty overlay. A stream into C (no base, or base A)
    /// copies every cluster, so the scanned offset equals the bytes copied (what the rate limit accounts) and a checkpoint
    /// falls every CheckpointBytes exactly.
    /// </summary>
    public static IReadOnlyList<string> BuildDenseChain(string dir, long size, int seed, string prefix = "")
    {
        var random = new Random(seed);
        var paths = new[] { "A", "B", "C" }.Select(n => Path.Combine(dir, $"{prefix}{n}.qcow2")).ToList();
        var buffer = new byte[1024 * 1024];
        for (var i = 0; i < paths.Count; i++)
        {
            Qcow2Image.Create(paths[i], new ImageCreateOptions
            {
                Size = size,
                ClusterSize = 65536,
                BackingFile = i == 0 ? null : Path.GetFileName(paths[i - 1]),
                BackingFormat = "qcow2",
            }).Dispose();
            using var chain = ImageChain.Open(paths[i], new ChainOpenOptions { WritableTop = true });
            if (i == 0)
            {
                random.NextBytes(buffer.AsSpan(0, 65536));
                chain.Write(size / 2, buffer.AsSpan(0, 65536));
            }
            else if (i == 1)
            {
                for (var offset = 0L; offset < size; offset += buffer.Length)
                {
                    random.NextBytes(buffer);
                    chain.Write(offset, buffer.AsSpan(0, (int)Math.Min(buffer.Length, size - offset)));
                }
            }

            chain.Flush();
        }

        return paths;
    }

    public static byte[] GuestView(string top)
    {
        using var chain = ImageChain.Open(top, new ChainOpenOptions());
        var data = new byte[chain.VirtualSize];
        chain.Read(0, data);
        return data;
    }

    public static T Expect<T>(object reply)
    {
        if (reply is DiskReplies.Refused refused)
        {
            throw new InvalidOperationException($"refused: {refused.Error.Code}: {refused.Error.Message}");
        }

        return (T)reply;
    }

    public static async Task<T> AskOk<T>(IActorRef actor, object message) => Expect<T>(await actor.Ask<object>(message, TimeSpan.FromSeconds(30)));
}
