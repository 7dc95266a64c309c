using Orchestrator.Domain.Jobs;

namespace Orchestrator.Domain.Disks;

/// <summary>
/// The fleet-wide facts about disks as pure state: which disks exist and on which host, which images each one holds
/// (by identity), and which disk holds each job id. <c>Decide*</c> returns events or a refusal; <see cref="Apply"/>
/// folds them. One decision is one atomic step: the check and the claim cannot be separated by another claim.
/// </summary>
public sealed record RegistryState
{
    public static readonly RegistryState Empty = new();

    public IReadOnlyDictionary<string, RegisteredDisk> Disks { get; init; } = new Dictionary<string, RegisteredDisk>();

    /// <summary>Job id to disk id: job ids are unique on the node (default ids, the disk's id, included).</summary>
    public IReadOnlyDictionary<string, string> Jobs { get; init; } = new Dictionary<string, string>();

    /// <summary>True once the old disk manager's journal was read (or found empty); until then nothing is decided.</summary>
    public bool LegacyImported { get; init; }

    /// <summary>True once the one-per-database registry of earlier versions (<c>registry-node</c>) was adopted, or found empty.</summary>
    public bool NodeRegistryImported { get; init; }

    public RegistryState Apply(IRegistryEvent e) => e switch
    {
        RegistryEvents.DiskClaimed c => WithDisk(new RegisteredDisk(c.Disk, c.Host, c.Images, Confirmed: true)),
        RegistryEvents.DiskSynced s => WithDisk(new RegisteredDisk(s.Disk, s.Host, s.Images, Confirmed: true)) with { Jobs = JobsAfterSync(s) },
        RegistryEvents.DiskReleased r => WithoutDisk(r.Disk),
        RegistryEvents.DiskMoved m => WithoutDisk(m.Disk),
        RegistryEvents.JobClaimed j => this with { Jobs = new Dictionary<string, string>(Jobs) { [j.Job] = j.Disk } },
        RegistryEvents.JobReleased j => this with { Jobs = Jobs.Where(kv => kv.Key != j.Job).ToDictionary() },
        RegistryEvents.LegacyManagerImported l => l.Disks.Aggregate(this, (s, d) => s.Disks.ContainsKey(d)
            ? s : s.WithDisk(new RegisteredDisk(d, l.Host, [], Confirmed: false))) with { LegacyImported = true },
        RegistryEvents.NodeRegistryImported => this with { NodeRegistryImported = true },
        _ => this,
    };

    /// <summary>
    /// A disk takes these images (replacing what it held). Refused when one of them is an image another disk writes, or
    /// when this disk would write an image another disk holds at all: QEMU's image locking between disks. Shared
    /// read-only bases are allowed.
    /// </summary>
    public Decision<IRegistryEvent> DecideClaim(DiskId disk, string host, IReadOnlyList<ImageClaim> images)
    {
        if (IdRule.Problem(disk.Value, "id") is { } problem)
        {
            return Refuse(DomainError.InvalidParameter(problem));
        }

        foreach (var other in Disks.Values.Where(d => d.Disk != disk.Value))
        {
            if (!other.Confirmed)
            {
                return Refuse(DomainError.Busy(
                    $"disk '{other.Disk}' has not reported its images since the node started; retry in a moment"));
            }

            foreach (var mine in images)
            {
                if (other.Images.FirstOrDefault(theirs => theirs.SameImage(mine) && (theirs.Writable || mine.Writable)) is { } taken)
                {
                    return Refuse(DomainError.Busy(taken.Writable
                        ? $"image '{mine.Path}' is already used by disk '{other.Disk}' (as '{taken.Path}'); a disk's active image must not be another disk's image"
                        : $"image '{mine.Path}' is a backing image of disk '{other.Disk}' (as '{taken.Path}') and cannot be written by another disk"));
                }
            }
        }

        return Accept(new RegistryEvents.DiskClaimed(disk.Value, host, [.. images]));
    }

    /// <summary>What the disk's own journal says after a restart: it replaces the registry's view, without a check.</summary>
    public Decision<IRegistryEvent> DecideSync(DiskId disk, string host, IReadOnlyList<ImageClaim> images, IReadOnlyList<JobId> jobs)
    {
        var known = Disks.GetValueOrDefault(disk.Value);
        var held = Jobs.Where(kv => kv.Value == disk.Value).Select(kv => kv.Key).Order(StringComparer.Ordinal);
        if (known is { Confirmed: true } && known.Host == host && known.Images.SequenceEqual(images)
            && held.SequenceEqual(jobs.Select(j => j.Value).Order(StringComparer.Ordinal)))
        {
            return Accept();
        }

        return Accept(new RegistryEvents.DiskSynced(disk.Value, host, [.. images], [.. jobs.Select(j => j.Value)]));
    }

    public Decision<IRegistryEvent> DecideRelease(DiskId disk) =>
        Disks.ContainsKey(disk.Value) || Jobs.Values.Contains(disk.Value) ? Accept(new RegistryEvents.DiskReleased(disk.Value)) : Accept();

    /// <summary>
    /// The disks move to <paramref name="toHost"/> (their host was downed and they lie on shared storage): each one
    /// this registry still holds is given up. Disks it no longer holds (moved before, or unregistered) are left alone,
    /// so a takeover that is tried again writes nothing twice.
    /// </summary>
    public Decision<IRegistryEvent> DecideMoveAway(IReadOnlyList<string> disks, string toHost) =>
        Accept([.. disks.Where(Disks.ContainsKey).Distinct().Order(StringComparer.Ordinal).Select(d => new RegistryEvents.DiskMoved(d, toHost))]);

    /// <summary>A job id is taken by one disk at a time; a disk's default job id counts like any other.</summary>
    public Decision<IRegistryEvent> DecideClaimJob(DiskId disk, JobId job)
    {
        if (IdRule.Problem(job.Value, "job-id") is { } problem)
        {
            return Refuse(DomainError.InvalidParameter(problem));
        }

        if (Jobs.TryGetValue(job.Value, out var holder))
        {
            return holder == disk.Value
                ? Accept()
                : Refuse(DomainError.Conflict($"Job ID '{job}' already in use (by a job of disk '{holder}')"));
        }

        return Disks.ContainsKey(disk.Value)
            ? Accept(new RegistryEvents.JobClaimed(job.Value, disk.Value))
            : Refuse(DomainError.NotFound($"disk '{disk}' is not registered"));
    }

    public Decision<IRegistryEvent> DecideReleaseJob(DiskId disk, JobId job) =>
        Jobs.TryGetValue(job.Value, out var holder) && holder == disk.Value ? Accept(new RegistryEvents.JobReleased(job.Value, disk.Value)) : Accept();

    public Decision<IRegistryEvent> DecideImport(IReadOnlyList<string> legacyDisks, string host) =>
        LegacyImported ? Accept() : Accept(new RegistryEvents.LegacyManagerImported([.. legacyDisks.Where(IdRule.IsValid).Order(StringComparer.Ordinal)], host));

    /// <summary>
    /// Adopts the registry of an earlier version (<paramref name="old"/>, recovered from <c>registry-node</c>) as this
    /// host's: its disks not known here come with their images and jobs, hosted on <paramref name="host"/>; disks the
    /// old one had not confirmed stay unconfirmed (they block claims until they report). Once only.
    /// </summary>
    public Decision<IRegistryEvent> DecideAdopt(RegistryState old, string host)
    {
        if (NodeRegistryImported)
        {
            return Accept();
        }

        var events = new List<IRegistryEvent>();
        var adopted = old.Disks.Values.Where(d => !Disks.ContainsKey(d.Disk)).OrderBy(d => d.Disk, StringComparer.Ordinal).ToList();
        if (old.LegacyImported)
        {
            events.Add(new RegistryEvents.LegacyManagerImported([.. adopted.Where(d => !d.Confirmed).Select(d => d.Disk)], host));
        }

        foreach (var disk in adopted.Where(d => d.Confirmed))
        {
            var jobs = old.Jobs.Where(kv => kv.Value == disk.Disk && !Jobs.ContainsKey(kv.Key)).Select(kv => kv.Key).Order(StringComparer.Ordinal);
            events.Add(new RegistryEvents.DiskSynced(disk.Disk, host, [.. disk.Images], [.. jobs]));
        }

        events.Add(new RegistryEvents.NodeRegistryImported(adopted.Count));
        return Accept([.. events]);
    }

    /// <summary>
    /// The disks in the order a restarted host starts them: those that hold a job id first (the list counts them), then
    /// the others, each group by id. The host starts the first group before it asks for the others (DiskRouter), so that a merge does not wait
    /// behind a thousand idle disks' shard allocations and recoveries.
    /// </summary>
    public RegistryCommands.DiskList InStartOrder()
    {
        var holders = Jobs.Values.ToHashSet(StringComparer.Ordinal);
        var first = Disks.Values.Where(d => holders.Contains(d.Disk)).OrderBy(d => d.Disk, StringComparer.Ordinal).ToList();
        return new RegistryCommands.DiskList(
            [.. first, .. Disks.Values.Where(d => !holders.Contains(d.Disk)).OrderBy(d => d.Disk, StringComparer.Ordinal)], first.Count);
    }

    public DiskId? DiskOfJob(JobId job) => Jobs.TryGetValue(job.Value, out var disk) ? new DiskId(disk) : null;

    public RegistrySnapshot ToSnapshot() => new(
        [.. Disks.Values.OrderBy(d => d.Disk, StringComparer.Ordinal).Select(d => d with { Images = [.. d.Images] })],
        [.. Jobs.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => new RegistrySnapshot.JobEntry(kv.Key, kv.Value))],
        LegacyImported,
        NodeRegistryImported);

    public static RegistryState FromSnapshot(RegistrySnapshot snapshot) => new()
    {
        Disks = snapshot.Disks.ToDictionary(d => d.Disk),
        Jobs = snapshot.Jobs.ToDictionary(j => j.Job, j => j.Disk),
        LegacyImported = snapshot.LegacyImported,
        NodeRegistryImported = snapshot.NodeRegistryImported,
    };

    private RegistryState WithDisk(RegisteredDisk disk) =>
        this with { Disks = new Dictionary<string, RegisteredDisk>(Disks) { [disk.Disk] = disk } };

    private RegistryState WithoutDisk(string disk) => this with
    {
        Disks = Disks.Where(kv => kv.Key != disk).ToDictionary(),
        Jobs = Jobs.Where(kv => kv.Value != disk).ToDictionary(),
    };

    private Dictionary<string, string> JobsAfterSync(RegistryEvents.DiskSynced s)
    {
        var jobs = Jobs.Where(kv => kv.Value != s.Disk).ToDictionary();
        foreach (var job in s.Jobs)
        {
            // A job id another disk already holds stays with it: the first claim won when both were live.
            jobs.TryAdd(job, s.Disk);
        }

        return jobs;
    }

    private static Decision<IRegistryEvent> Accept(params IRegistryEvent[] events) => Decision<IRegistryEvent>.Accept(events);

    private static Decision<IRegistryEvent> Refuse(DomainError error) => Decision<IRegistryEvent>.Refuse(error);
}
