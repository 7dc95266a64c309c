using System.Net;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>
/// "One image, two owners" and "job ids collide" (issue 9), tried over HTTP against a real node: an image's identity is
/// its device and inode, so concurrent registrations of one image give one 201 and clear 409s, and a hard link, a
/// symlink or a '..' name of an owned image is a 409 naming the owner; a job id, a disk's default one included, is
/// held by one disk at a time, so a job verb by id acts on that disk's job alone. The node serves on, the images check
/// clean. (DiskRegistryTests holds the same rules to the registry's actors; this is what a client sees.)
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ImageOwnershipTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private NodeProcess Node => fixture.Node;

    [Fact]
    public async Task Twenty_concurrent_registrations_of_one_image_give_one_201_and_409s_and_its_other_names_are_refused()
    {
        var (@base, mid, top) = Chains.Create(Node.StorageRoot, "own");

        var replies = await Task.WhenAll(Enumerable.Range(0, 20).Select(async i =>
        {
            using var response = await Json.PostAsync(Node.Http, "disks", new { id = $"own{i}", path = top });
            var body = await response.Content.ReadAsStringAsync();
            return (Id: $"own{i}", response.StatusCode, Body: body);
        }));

        var owner = Assert.Single(replies, r => r.StatusCode == HttpStatusCode.Created).Id;
        Assert.All(replies.Where(r => r.Id != owner), r =>
        {
            Assert.True(r.StatusCode == HttpStatusCode.Conflict, $"{r.Id}: {(int)r.StatusCode} {r.Body}");
            Assert.Contains("own-top.qcow2", r.Body, StringComparison.Ordinal);
        });

        // The same file under other names: a hard link, a symlink, a path through '..'.
        var hard = Node.Image("own-hard.qcow2");
        ProcessRunner.Run("ln", [top, hard]).EnsureSuccess();
        var soft = Node.Image("own-soft.qcow2");
        File.CreateSymbolicLink(soft, top);
        var dotdot = Path.Combine(Directory.CreateDirectory(Node.Image("own-sub")).FullName, "..", "own-top.qcow2");
        foreach (var (id, path) in new[] { ("ownhard", hard), ("ownsoft", soft), ("owndotdot", dotdot) })
        {
            using var response = await Json.PostAsync(Node.Http, "disks", new { id, path });
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.Conflict, $"{id} ({path}): {(int)response.StatusCode} {body}");
            Assert.Contains($"'{owner}'", body, StringComparison.Ordinal);
        }

        using (var list = await Node.Http.GetAsync("disks"))
        {
            var ids = (await Json.BodyAsync(list)).EnumerateArray().Select(d => d.GetProperty("id").GetString()!).Where(d => d.StartsWith("own", StringComparison.Ordinal));
            Assert.Equal([owner], ids);
        }

        // The one owner serves, and its guest's acknowledged writes are in the file.
        await NodeHealth.AssertServesAsync(Node, owner);
        var write = QemuTools.Io("-f", "raw", "-c", "write -P 0x5a 20M 4M", "-c", "flush", Confine.UnixUri(Node, owner));
        Assert.True(NbdGuest.Succeeded(write), write.StdOut + write.StdErr);
        (await Node.CliAsync("disk", "remove", owner)).EnsureSuccess();
        var read = QemuTools.Io("-f", "qcow2", "-r", "-c", "read -P 0x5a 20M 4M", top);
        Assert.True(NbdGuest.Succeeded(read), "the guest's flushed write is not in the image: " + read.StdOut + read.StdErr);
        Confine.AssertClean(top, mid, @base);
    }

    [Fact]
    public async Task A_job_id_is_held_by_one_disk_default_ids_included_and_a_verb_by_id_acts_on_that_disk_alone()
    {
        foreach (var id in new[] { "jone", "jtwo" })
        {
            var (_, _, top) = Chains.Create(Node.StorageRoot, id);
            (await Node.CliAsync("disk", "add", id, top)).EnsureSuccess();
        }

        // jone's job takes jtwo's default job id (the disk id), slowly.
        using (var start = await Json.PostAsync(Node.Http, "disks/jone/stream", new { jobId = "jtwo", speed = 1024 * 1024 }))
        {
            Assert.True(start.StatusCode == HttpStatusCode.Created, await start.Content.ReadAsStringAsync());
        }

        using (var explicitId = await Json.PostAsync(Node.Http, "disks/jtwo/stream", new { jobId = "jtwo" }))
        {
            Assert.Equal(HttpStatusCode.Conflict, explicitId.StatusCode);
            Assert.Contains("'jone'", (await Json.ErrorAsync(explicitId)).Message, StringComparison.Ordinal);
        }

        using (var defaultId = await Json.PostAsync(Node.Http, "disks/jtwo/stream", "{}"))
        {
            Assert.Equal(HttpStatusCode.Conflict, defaultId.StatusCode);
            Assert.Contains("'jone'", (await Json.ErrorAsync(defaultId)).Message, StringComparison.Ordinal);
        }

        // The cancel by id reaches jone's job, the only one that has the id; jtwo has no job at all.
        using (var cancel = await Node.Http.PostAsync("jobs/jtwo/cancel", null))
        {
            Assert.True(cancel.IsSuccessStatusCode, await cancel.Content.ReadAsStringAsync());
        }

        using (var jobs = await Node.Http.GetAsync("jobs"))
        {
            Assert.DoesNotContain((await Json.BodyAsync(jobs)).EnumerateArray(), j => j.GetProperty("disk").GetString() == "jtwo");
        }

        await NodeHealth.AssertServesAsync(Node, "jone");
        await NodeHealth.AssertServesAsync(Node, "jtwo");

        // Once jone's job is gone, jtwo's default id is free.
        await WaitUntilGoneAsync("jtwo");
        using (var again = await Json.PostAsync(Node.Http, "disks/jtwo/stream", "{}"))
        {
            Assert.True(again.StatusCode == HttpStatusCode.Created, await again.Content.ReadAsStringAsync());
            Assert.Equal("jtwo", (await Json.BodyAsync(again)).GetProperty("disk").GetString());
        }
    }

    private async Task WaitUntilGoneAsync(string job)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            using var response = await Node.Http.GetAsync($"jobs/{job}");
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                return;
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"job {job} is still there: {await response.Content.ReadAsStringAsync()}");
            await Task.Delay(100);
        }
    }
}
