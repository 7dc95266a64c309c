using Orchestrator.Domain.Jobs;

namespace Orchestrator.Domain.Disks;

/// <summary>
/// A disk's chain and jobs as pure state: <c>Decide*</c> returns events (or a refusal with a stable code),
/// <see cref="Apply"/> folds events. The actor persists the events, applies them, then replies.
/// </summary>
public sealed record DiskState
{
    /// <summary>The state of a disk actor before registration: it knows its id, nothing else.</summary>
    public static DiskState For(DiskId disk) => new() { Disk = disk };

    public DiskId? Disk { get; init; }

    /// <summary>Image paths, active image first, down to the bottom.</summary>
    public IReadOnlyList<string> Chain { get; init; } = [];

    public IReadOnlyDictionary<JobId, Job> Jobs { get; init; } = new Dictionary<JobId, Job>();

    public bool Registered => Disk is not null && Chain.Count > 0;

    public string? ActivePath => Chain.Count > 0 ? Chain[0] : null;

    public IEnumerable<Job> LiveJobs => Jobs.Values.Where(j => j.IsLive);

    public DiskState Apply(IDomainEvent e) => e switch
    {
        DiskRegistered r => this with { Disk = r.Disk, Chain = r.Chain },
        DiskUnregistered => new DiskState { Disk = Disk },
        ChainChanged c => this with { Chain = c.Chain },
        JobCreated c => WithJob(c.ToJob()),

        // Through Job.Apply first, so the move to null passes the transition table like every other.
        JobStatusChanged { Status: JobStatus.Null } s when Jobs.TryGetValue(s.JobId, out var ending) => WithoutJob(ending.Apply(s).Id),
        JobEvent j when Jobs.TryGetValue(j.JobId, out var job) => WithJob(job.Apply(j)),
        _ => this,
    };

    /// <summary>The whole state for the snapshot store: what recovery restores before it replays the later events.</summary>
    public DiskSnapshot ToSnapshot() =>
        new(Disk, new List<string>(Chain), Jobs.Values.Select(j => j with { FrozenPaths = new List<string>(j.FrozenPaths) }).ToList());

    public static DiskState FromSnapshot(DiskSnapshot snapshot) => new()
    {
        Disk = snapshot.Disk,
        Chain = snapshot.Chain,
        Jobs = snapshot.Jobs.ToDictionary(j => j.Id),
    };

    private DiskState WithJob(Job job) => this with { Jobs = new Dictionary<JobId, Job>(Jobs) { [job.Id] = job } };

    private DiskState WithoutJob(JobId id)
    {
        var jobs = new Dictionary<JobId, Job>(Jobs);
        jobs.Remove(id);
        return this with { Jobs = jobs };
    }

    public Decision<IDomainEvent> DecideRegister(DiskId disk, IReadOnlyList<string> discoveredChain)
    {
        if (Registered)
        {
            return Refuse(DomainError.Conflict($"disk '{disk}' is already registered (active image '{ActivePath}')"));
        }

        // Persist a concrete List whatever the caller passed: the journal must be able to read the type back.
        return Decision<IDomainEvent>.Accept(new DiskRegistered(disk, new List<string>(discoveredChain)));
    }

    public Decision<IDomainEvent> DecideUnregister()
    {
        if (RequireRegistered() is { } error)
        {
            return Refuse(error);
        }

        var live = LiveJobs.FirstOrDefault();
        return live is not null
            ? Refuse(DomainError.Busy($"disk '{Disk}' has a live block job '{live.Id}' ({QemuNames.Of(live.Type)}); cancel or finish it first"))
            : Decision<IDomainEvent>.Accept(new DiskUnregistered(Disk!));
    }

    /// <summary>A live snapshot puts a new active image on top; refused while a job writes the active image.</summary>
    public Decision<IDomainEvent> DecideSnapshot(string newPath)
    {
        if (RequireRegistered() is { } error)
        {
            return Refuse(error);
        }

        if (Chain.Contains(newPath))
        {
            return Refuse(DomainError.InvalidParameter($"'{newPath}' is already an image of disk '{Disk}'"));
        }

        if (HolderOf(ActivePath!) is { } holder)
        {
            return Refuse(Busy(ActivePath!, holder));
        }

        // A concrete List: a collection expression would give the journal a compiler-internal type it cannot read back.
        return Decision<IDomainEvent>.Accept(new ChainChanged(Disk!, new List<string>(Chain.Prepend(newPath)), "snapshot"));
    }

    /// <summary>
    /// Validates block-stream's arguments against the chain (QEMU's checks and wording where it has them) and creates
    /// the job: images from the top down to, not including, the base become held by it.
    /// </summary>
    public Decision<IDomainEvent> DecideStream(StreamRequest request, long length, JobType type = JobType.Stream)
    {
        if (RequireRegistered() is { } error)
        {
            return Refuse(error);
        }

        var top = request.Top ?? ActivePath!;
        var topIndex = IndexOf(top);
        if (topIndex < 0)
        {
            return Refuse(DomainError.NotFound($"Cannot find device='{top}' nor node-name='{top}' in disk '{Disk}'"));
        }

        var baseIndex = Chain.Count;
        if (request.Base is not null)
        {
            baseIndex = IndexOf(request.Base);
            if (baseIndex < 0 || baseIndex <= topIndex)
            {
                return Refuse(DomainError.InvalidParameter($"Node '{request.Base}' is not a backing image of '{top}'"));
            }
        }
        else if (request.BackingFile is not null)
        {
            return Refuse(DomainError.InvalidParameter("backing file specified, but streaming the entire chain"));
        }

        if (request.Speed < 0)
        {
            return Refuse(DomainError.InvalidParameter("Invalid parameter 'speed'"));
        }

        // QEMU's default job id is the device name, which only the active image has.
        if (request.JobId is null && topIndex != 0)
        {
            return Refuse(DomainError.InvalidParameter("Invalid job ID '': an explicit job id is required to stream into an intermediate image"));
        }

        var id = request.JobId ?? new JobId(Disk!.Value);
        if (Jobs.TryGetValue(id, out var existing) && existing.Status != JobStatus.Null)
        {
            return Refuse(DomainError.Conflict($"Job ID '{id}' already in use"));
        }

        var held = Chain.Skip(topIndex).Take(baseIndex - topIndex).ToList();
        foreach (var path in held)
        {
            if (HolderOf(path) is { } holder)
            {
                return Refuse(Busy(path, holder));
            }
        }

        var job = new Job
        {
            Id = id,
            Type = type,
            Disk = Disk!,
            TopPath = Chain[topIndex],
            BasePath = baseIndex < Chain.Count ? Chain[baseIndex] : null,
            BackingFileString = request.BackingFile,
            FrozenPaths = held.Skip(1).ToList(),
            Length = length,
            Speed = request.Speed,
            OnError = request.OnError,
            AutoDismiss = request.AutoDismiss,
        };
        var created = Job.Create(job);
        return created.Refused ? Refuse(created.Error!) : Decision<IDomainEvent>.Accept([.. created.Events]);
    }

    /// <summary>The stream committed: the top now backs onto the base; the images between leave the chain.</summary>
    public Decision<IDomainEvent> DecideCommitted(Job job)
    {
        var topIndex = IndexOf(job.TopPath);
        var baseIndex = job.BasePath is null ? Chain.Count : IndexOf(job.BasePath);
        if (topIndex < 0 || baseIndex < 0)
        {
            return Refuse(DomainError.Conflict($"the chain of disk '{Disk}' no longer holds the job's images"));
        }

        var chain = Chain.Take(topIndex + 1).Concat(Chain.Skip(baseIndex)).ToList();
        return Decision<IDomainEvent>.Accept(new ChainChanged(Disk!, chain, $"job '{job.Id}' committed"));
    }

    /// <summary>The live job that holds an image (writes it or has it frozen), if any.</summary>
    public Job? HolderOf(string path) =>
        LiveJobs.FirstOrDefault(j => SamePath(j.TopPath, path) || j.FrozenPaths.Any(p => SamePath(p, path)));

    public int IndexOf(string path)
    {
        for (var i = 0; i < Chain.Count; i++)
        {
            if (SamePath(Chain[i], path))
            {
                return i;
            }
        }

        return -1;
    }

    private static bool SamePath(string a, string b) => string.Equals(Path.GetFullPath(a), Path.GetFullPath(b), StringComparison.Ordinal);

    private DomainError? RequireRegistered() =>
        Registered ? null : DomainError.NotFound($"disk '{Disk}' is not registered");

    private static DomainError Busy(string path, Job holder) =>
        DomainError.Busy($"Node '{path}' is busy: block device is in use by block job '{holder.Id}' ({QemuNames.Of(holder.Type)})");

    private static Decision<IDomainEvent> Refuse(DomainError error) => Decision<IDomainEvent>.Refuse(error);
}
