using System.Diagnostics;
using System.Net;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>
/// A full data folder (a 16 MiB tmpfs mounted under the node's data path, then filled) degrades, never hangs: reads
/// answer, writes fail fast with 507 and a clear message, the guest's NBD I/O goes on, and everything resumes when
/// space returns. Needs root (mount -t tmpfs), as the tests run here and in CI.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class FullDataFolderTests
{
    private static readonly TimeSpan _fast = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Reads_answer_writes_get_507_fast_and_everything_resumes_when_space_returns()
    {
        using var folder = new TempDirectory("full");
        var data = Directory.CreateDirectory(folder.Combine("data")).FullName;
        Mount(data);
        try
        {
            await using var node = await NodeProcess.StartAsync(folder.Path);
            var (_, _, keepTop) = Chains.Create(node.StorageRoot, "keep");
            var (_, _, laterTop) = Chains.Create(node.StorageRoot, "later");
            await ExpectAsync(node, HttpMethod.Post, "disks", new { id = "keep", path = keepTop }, HttpStatusCode.Created);

            var filler = Path.Combine(data, "filler");
            Fill(filler);
            Assert.True(new DriveInfo(data).AvailableFreeSpace < 1024 * 1024, "the tmpfs should be full");

            // Reads answer, fast.
            await ExpectAsync(node, HttpMethod.Get, "disks", null, HttpStatusCode.OK);
            await ExpectAsync(node, HttpMethod.Get, "disks/keep", null, HttpStatusCode.OK);
            await ExpectAsync(node, HttpMethod.Get, "jobs", null, HttpStatusCode.OK);
            await ExpectAsync(node, HttpMethod.Get, "events?follow=false", null, HttpStatusCode.OK);

            // Writes are refused, fast, with 507 and a message that says what to do.
            foreach (var (method, path, body) in new (HttpMethod, string, object?)[]
            {
                (HttpMethod.Post, "disks", new { id = "later", path = laterTop }),
                (HttpMethod.Post, "disks/keep/snapshot", new { path = node.Image("keep-snap.qcow2") }),
                (HttpMethod.Post, "disks/keep/stream", new { jobId = "full-job" }),
                (HttpMethod.Post, "disks/keep/block-copy", new { destination = node.Image("keep-copy.qcow2") }),
                (HttpMethod.Post, "jobs/full-job/pause", null),
                (HttpMethod.Delete, "disks/keep", null),
            })
            {
                var message = await ExpectAsync(node, method, path, body, HttpStatusCode.InsufficientStorage);
                Assert.Contains("insufficient-storage", message, StringComparison.Ordinal);
                Assert.Contains("is full", message, StringComparison.Ordinal);
                Assert.Contains(data, message, StringComparison.Ordinal);
            }

            Assert.False(File.Exists(node.Image("keep-snap.qcow2")));
            Assert.False(File.Exists(node.Image("keep-copy.qcow2")));

            // The guest's I/O path does not go through the journal.
            await NodeHealth.AssertServesAsync(node, "keep");

            // Space returns: writes work again, at once.
            File.Delete(filler);
            await ExpectAsync(node, HttpMethod.Post, "disks", new { id = "later", path = laterTop }, HttpStatusCode.Created);
            await ExpectAsync(node, HttpMethod.Post, "disks/keep/snapshot", new { path = node.Image("keep-snap.qcow2") }, HttpStatusCode.OK);
            await NodeHealth.AssertServesAsync(node, "keep");
            await NodeHealth.AssertServesAsync(node, "later");

            // And the journal holds all of it: a restart recovers both disks.
            await node.DisposeAsync();
            await using var again = await NodeProcess.StartAsync(folder.Path);
            await NodeHealth.AssertServesAsync(again, "keep");
            await NodeHealth.AssertServesAsync(again, "later");
            await again.DisposeAsync();

            foreach (var image in Directory.GetFiles(node.StorageRoot, "*.qcow2"))
            {
                Assert.Equal(0, QemuTools.Check(image).ExitCode);
            }
        }
        finally
        {
            Unmount(data);
        }
    }

    /// <summary>Sends a request and expects <paramref name="expected"/> within a few seconds; returns the body.</summary>
    private static async Task<string> ExpectAsync(NodeProcess node, HttpMethod method, string path, object? body, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = System.Net.Http.Json.JsonContent.Create(body);
        }

        var clock = Stopwatch.StartNew();
        using var response = await node.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{method} /{path}: expected {(int)expected}, got {(int)response.StatusCode} {text}");
        Assert.True(clock.Elapsed < _fast, $"{method} /{path} took {clock.Elapsed.TotalSeconds:0.0} s");
        return text;
    }

    private static void Fill(string path)
    {
        var chunk = new byte[1024 * 1024];
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write);
        try
        {
            while (true)
            {
                stream.Write(chunk);
                stream.Flush();
            }
        }
        catch (IOException)
        {
            // ENOSPC: the file system is full.
        }
    }

    private static void Mount(string path)
    {
        var mount = ProcessRunner.Run("mount", ["-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", path]);
        Assert.True(mount.ExitCode == 0,
            $"this test mounts a 16 MiB tmpfs at {path} and needs root and mount(8) (Debian package util-linux / mount): {mount.StdErr}");
    }

    private static void Unmount(string path)
    {
        var umount = ProcessRunner.Run("umount", [path]);
        if (umount.ExitCode != 0)
        {
            // Something still holds it open (a node that did not stop): detach it so the folder can go.
            ProcessRunner.Run("umount", ["-l", path]);
        }
    }
}
