using System.Diagnostics;
using System.Globalization;
using Orchestrator.Cli.Commands;
using Orchestrator.Cli.Commands.Client;
using Orchestrator.ImageCommands.Output;
using Orchestrator.Contracts;
using Orchestrator.Qcow2;
using Orchestrator.Qcow2.Check;

namespace Orchestrator.Cli.Demo;

/// <summary>
/// The main job, live: a node in this process (SQLite journal, temporary data folder), a guest writing to disk D over
/// the node's NBD export, a stream of D with base A while the guest writes, then a live block copy of the disk to a
/// new image E while it still writes; then every byte verified against the model, guest writes included.
/// </summary>
public sealed class LiveDemo(string dir, long size, int seed, string cache)
{
    private const string Disk = "demo";
    private static readonly TimeSpan _nodeStartTimeout = TimeSpan.FromSeconds(60);

    public async Task<int> RunAsync(CancellationToken cancel)
    {
        var images = Directory.CreateDirectory(Path.Combine(dir, "images")).FullName;
        var data = Path.Combine(dir, "node");
        var model = new GuestModel(size);
        Console.WriteLine($"Building [A] -> [B] -> [C] -> [D] in {images} ({Bytes.Human(size)} virtual, seed {seed})");
        DemoChain.Build(images, size, seed, model);

        using var stopNode = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        var node = NodeLauncher.RunInProcessAsync(data, images, cache, stopNode.Token);
        try
        {
            using var client = await ConnectAsync(data, node, cancel);
            Console.WriteLine($"Node running in this process: {client.Server} (journal and token in {data})");
            var before = await RegisterAsync(client, Path.Combine(images, "D.qcow2"), cancel);

            using var guestNbd = NbdGuestClient.Connect(Path.Combine(data, "nbd.sock"), Disk);
            var guest = new DemoGuest(guestNbd, model, seed + 1);
            using var stopGuest = new CancellationTokenSource();
            var guestRun = guest.RunAsync(stopGuest.Token);
            Console.WriteLine($"Guest writing to D over NBD ({Path.Combine(data, "nbd.sock")}, export '{Disk}')");

            var stream = await RunJobAsync(client, $"/disks/{Disk}/stream", new StreamJobRequest { Base = "A.qcow2", AutoDismiss = false },
                "Stream D (base A)", cancel);
            var afterStream = await ShowAsync(client, cancel);
            var copy = await RunJobAsync(client, $"/disks/{Disk}/block-copy",
                new BlockCopyJobRequest { Destination = Path.Combine(images, "E.qcow2"), AutoDismiss = false }, "Block copy to E", cancel);
            var afterCopy = await ShowAsync(client, cancel);

            await stopGuest.CancelAsync();
            await guestRun;
            var mismatch = Verify(data, model, size);

            await stopNode.CancelAsync();
            await node;
            using var image = Qcow2Image.Open(afterCopy.ActivePath, ImageOpenOptions.ReadOnly());
            var check = ImageChecker.Check(image, repairLeaks: false);

            Console.WriteLine();
            Console.WriteLine($"Chain before:          {Chain(before)}");
            Console.WriteLine($"After the stream:      {Chain(afterStream)}   ({Job(stream)})");
            Console.WriteLine($"After the block copy:  {Chain(afterCopy)}   ({Job(copy)})");
            Console.WriteLine($"Guest:                 {guest.Writes} writes ({Bytes.Human(guest.Bytes)}) during the jobs; "
                + $"latency p50 {guest.Percentile(50):0.00} ms, p99 {guest.Percentile(99):0.00} ms");
            Console.WriteLine(mismatch is null
                ? $"Verification:          every byte of the {Bytes.Human(size)} disk matches (the chain's content and the guest's {guest.Writes} writes)"
                : $"Verification:          FAILED: {mismatch}");
            Console.WriteLine($"{$"Check of {Path.GetFileName(afterCopy.ActivePath)}:",-23}{(check.ExitCode == 0 ? "no errors" : $"{check.Corruptions} corruptions, {check.Leaks} leaks")}");

            var chainsRight = afterStream.Chain.Count == 2 && afterCopy.Chain.Count == 1;
            return mismatch is null && check.ExitCode == 0 && chainsRight ? 0 : 1;
        }
        finally
        {
            await stopNode.CancelAsync();
            await node.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Waits for the node's endpoint file, then connects as any client would.</summary>
    private static async Task<NodeClient> ConnectAsync(string data, Task node, CancellationToken cancel)
    {
        var deadline = DateTime.UtcNow + _nodeStartTimeout;
        var endpoint = Path.Combine(data, NodeDataFolder.EndpointFile);
        while (!File.Exists(endpoint))
        {
            if (node.IsCompleted)
            {
                await node;
                throw new ClientException("the in-process node stopped before it was ready");
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new ClientException($"the in-process node did not start within {_nodeStartTimeout.TotalSeconds} s");
            }

            await Task.Delay(50, cancel);
        }

        return new NodeClient(NodeConnection.Discover(serverFlag: null, tokenFileFlag: null, dataFlag: data));
    }

    private static async Task<DiskView> RegisterAsync(NodeClient client, string active, CancellationToken cancel) =>
        (await client.SendAsync<DiskView>(HttpMethod.Post, "/disks", new RegisterDiskRequest { Id = Disk, Path = active }, cancel)).Value;

    private static async Task<DiskView> ShowAsync(NodeClient client, CancellationToken cancel) => await client.GetAsync<DiskView>($"/disks/{Disk}", cancel);

    /// <summary>
    /// Starts a job (not auto-dismissed) and waits for it with the progress bar; returns its length, the bytes it
    /// copied by its own count (the concluded job's bytes-copied: guest writes are not in it) and how long it took,
    /// then dismisses it.
    /// </summary>
    private static async Task<(long Length, long Copied, TimeSpan Took)> RunJobAsync(NodeClient client, string path, object request, string label,
        CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        var started = await client.SendAsync<JobView>(HttpMethod.Post, path, request, cancel);
        var after = started.Headers.TryGetValues(ApiHeaders.EventSequence, out var values)
            && long.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var sequence) ? sequence : 0;
        await new JobWaiter(client, started.Value, after, label).WaitAsync(showBar: true, cancel);
        var took = clock.Elapsed;
        var job = $"jobs/{NodeClient.Segment(started.Value.Device)}";
        var concluded = await client.GetAsync<JobView>(job, cancel);
        await client.SendOptionalAsync(HttpMethod.Post, $"{job}/dismiss", null, cancel);
        return (concluded.Len, concluded.BytesCopied, took);
    }

    /// <summary>Reads the whole disk through a second NBD connection (the guest's view) and compares every 4 KiB block.</summary>
    private static string? Verify(string data, GuestModel model, long size)
    {
        using var reader = NbdGuestClient.Connect(Path.Combine(data, "nbd.sock"), Disk);
        var buffer = new byte[1024 * 1024];
        for (var offset = 0L; offset < size; offset += buffer.Length)
        {
            var chunk = buffer.AsSpan(0, (int)Math.Min(buffer.Length, size - offset));
            reader.Read(offset, chunk);
            for (var block = 0; block < chunk.Length; block += GuestModel.BlockSize)
            {
                var expected = model.Expected(offset + block);
                var bytes = chunk.Slice(block, Math.Min(GuestModel.BlockSize, chunk.Length - block));
                if (bytes.IndexOfAnyExcept(expected) is var bad and >= 0)
                {
                    return $"byte {offset + block + bad} reads 0x{bytes[bad]:x2}, expected 0x{expected:x2}";
                }
            }
        }

        return null;
    }

    private static string Chain(DiskView disk) => string.Join(" -> ", disk.Chain.Reverse().Select(p => $"[{Path.GetFileName(p)}]"));

    private static string Job((long Length, long Copied, TimeSpan Took) job) =>
        $"{Bytes.Human(job.Length)} scanned, {Bytes.Human(job.Copied)} copied in {job.Took.TotalSeconds:0.00} s, "
        + $"{Bytes.Human((long)(job.Copied / Math.Max(job.Took.TotalSeconds, 0.001)))}/s";
}
