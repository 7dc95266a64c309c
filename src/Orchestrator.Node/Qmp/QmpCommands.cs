using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Engine;
using Orchestrator.Node.Api;
using Orchestrator.Contracts;

namespace Orchestrator.Node.Qmp;

/// <summary>
/// The QMP commands a node answers, with qemu-storage-daemon's names, arguments, replies and error classes, run
/// through the same engine as the HTTP API. A disk's active image is the block node named after the disk (QMP's
/// device); the images below it are named by their file names.
/// </summary>
public sealed class QmpCommands(EngineGateway engine, NodeOptions options, EventHub events)
{
    /// <summary>How long block-stream waits for its job to leave "created" before it returns anyway.</summary>
    private static readonly TimeSpan _startWait = TimeSpan.FromSeconds(5);

    private static readonly JsonSerializerOptions _json = new(JsonSerializerDefaults.Web);

    /// <summary>Every command besides qmp_capabilities, for query-commands.</summary>
    public static IReadOnlyList<string> Names { get; } =
    [
        "query-commands", "query-block-jobs", "query-named-block-nodes", "block-stream", "blockdev-snapshot-sync",
        "block-job-pause", "block-job-resume", "block-job-cancel", "block-job-set-speed", "block-job-dismiss",
    ];

    public Task<JsonNode> ExecuteAsync(string command, JsonObject? arguments, CancellationToken cancel) => command switch
    {
        "query-commands" => Task.FromResult<JsonNode>(new JsonArray([.. Names.Append("qmp_capabilities").Select(n => (JsonNode)new JsonObject { ["name"] = n })])),
        "query-block-jobs" => QueryBlockJobsAsync(new QmpArguments(arguments, []), cancel),
        "query-named-block-nodes" => QueryNamedBlockNodesAsync(new QmpArguments(arguments, ["flat"]), cancel),
        "block-stream" => BlockStreamAsync(new QmpArguments(arguments,
            ["job-id", "device", "base", "base-node", "backing-file", "speed", "on-error", "auto-finalize", "auto-dismiss"]), cancel),
        "blockdev-snapshot-sync" => SnapshotAsync(new QmpArguments(arguments, ["device", "node-name", "snapshot-file", "snapshot-node-name", "format", "mode"]), cancel),
        "block-job-pause" => VerbAsync(new QmpArguments(arguments, ["device"]), "device", JobVerb.Pause, cancel),
        "block-job-resume" => VerbAsync(new QmpArguments(arguments, ["device"]), "device", JobVerb.Resume, cancel),
        "block-job-cancel" => VerbAsync(new QmpArguments(arguments, ["device", "force"]), "device", JobVerb.Cancel, cancel),
        "block-job-set-speed" => VerbAsync(new QmpArguments(arguments, ["device", "speed"]), "device", JobVerb.SetSpeed, cancel),
        "block-job-dismiss" => VerbAsync(new QmpArguments(arguments, ["id"]), "id", JobVerb.Dismiss, cancel),
        _ => throw new QmpError(QmpError.CommandNotFound, $"The command {command} has not been found"),
    };

    private async Task<JsonNode> QueryBlockJobsAsync(QmpArguments _, CancellationToken cancel)
    {
        var reply = await engine.AskAsync(new ManagerCommands.QueryAllJobs(), cancel);
        var jobs = reply is DiskReplies.JobList list ? list.Jobs : throw Unexpected(reply);
        return new JsonArray([.. jobs.Select(JobObject)]);
    }

    /// <summary>QEMU's BlockJobInfo: the API's job object without our own "disk", "bytes-copied" and "host" fields.</summary>
    private static JsonNode JobObject(JobInfo job)
    {
        var node = JsonSerializer.SerializeToNode(JobView.From(job), _json)!.AsObject();
        node.Remove("disk");
        node.Remove("bytes-copied");
        node.Remove("host");
        return node;
    }

    private async Task<JsonNode> QueryNamedBlockNodesAsync(QmpArguments _, CancellationToken cancel)
    {
        var reply = await engine.AskAsync(new ManagerCommands.ListDisks(), cancel);
        var disks = reply is ManagerCommands.DiskList list ? list.Disks : throw Unexpected(reply);
        var nodes = new JsonArray();
        foreach (var summary in disks)
        {
            if (await engine.AskAsync(new DiskCommands.Show(new DiskId(summary.Disk)), cancel) is not DiskReplies.DiskInfo info)
            {
                continue;
            }

            for (var i = 0; i < info.Images.Count; i++)
            {
                nodes.Add(NodeObject(info, i));
            }
        }

        return nodes;
    }

    private static JsonObject NodeObject(DiskReplies.DiskInfo disk, int index)
    {
        var image = disk.Images[index];
        var backing = index + 1 < disk.Images.Count ? disk.Images[index + 1].Path : null;
        var imageInfo = new JsonObject
        {
            ["filename"] = image.Path,
            ["format"] = "qcow2",
            ["virtual-size"] = image.VirtualSize,
            ["cluster-size"] = image.ClusterSize,
        };
        if (image.BackingFile is not null)
        {
            imageInfo["backing-filename"] = image.BackingFile;
            imageInfo["full-backing-filename"] = backing;
            imageInfo["backing-filename-format"] = "qcow2";
        }

        var node = new JsonObject
        {
            ["node-name"] = index == 0 ? disk.Disk.Value : Path.GetFileName(image.Path),
            ["file"] = image.Path,
            ["drv"] = "qcow2",
            ["ro"] = index > 0,
            ["encrypted"] = false,
            ["backing_file_depth"] = disk.Images.Count - 1 - index,
            ["image"] = imageInfo,
        };
        if (backing is not null)
        {
            node["backing_file"] = backing;
        }

        return node;
    }

    private async Task<JsonNode> BlockStreamAsync(QmpArguments args, CancellationToken cancel)
    {
        var disk = Device(args.String("device"));
        var @base = args.OptionalString("base");
        var baseNode = args.OptionalString("base-node");
        if (@base is not null && baseNode is not null)
        {
            throw QmpError.GenericError("'base' and 'base-node' cannot be specified at the same time");
        }

        if (args.OptionalBool("auto-finalize") == false)
        {
            throw QmpError.GenericError("Parameter 'auto-finalize' may only be true: this node finalizes every job itself");
        }

        var jobId = args.OptionalString("job-id");
        if (jobId is not null && !IdRule.IsValid(jobId))
        {
            throw QmpError.GenericError($"Invalid job ID '{jobId}'");
        }

        var onErrorText = args.OptionalString("on-error");
        var onError = OnErrorPolicy.Report;
        if (onErrorText is not null && !QemuNames.TryParse(onErrorText, out onError))
        {
            throw QmpError.GenericError($"Parameter 'on-error' does not accept value '{onErrorText}'");
        }

        var backingFile = args.OptionalString("backing-file");
        string? basePath = null;
        if (baseNode is not null)
        {
            // A backing image's node name is its file name (see query-named-block-nodes).
            var chain = await ChainOfAsync(disk, cancel);
            basePath = chain.Skip(1).FirstOrDefault(p => Path.GetFileName(p) == baseNode)
                ?? throw QmpError.GenericError($"Cannot find device='' nor node-name='{baseNode}'");
        }
        else if (@base is not null)
        {
            var chain = await ChainOfAsync(disk, cancel);
            basePath = ChainImageName.TryResolve(@base, chain, out var resolved, out var error) ? resolved : throw QmpError.GenericError(error.Message);
        }

        var request = new StreamRequest
        {
            JobId = jobId is null ? null : new JobId(jobId),
            Base = basePath,
            BackingFile = backingFile,
            Speed = Speed(args),
            OnError = onError,
            AutoDismiss = args.OptionalBool("auto-dismiss") ?? true,
        };
        var before = events.LastSequence;
        var reply = await engine.AskAsync(new DiskCommands.Stream(disk, request), cancel);
        if (reply is not DiskReplies.JobStarted started)
        {
            throw ErrorOf(reply, disk.Value, job: null);
        }

        // QEMU's block-stream returns once the job runs (its "created" and "running" events come before the return);
        // the engine answers as soon as the job is persisted and starts its copy just after, so wait for that step.
        await StatusReachedAsync(started.Job.Device, before, s => s != "created", cancel);
        return new JsonObject();
    }

    /// <summary>
    /// Waits (at most <see cref="_startWait"/>) for a status change of <paramref name="job"/> after event
    /// <paramref name="after"/> that <paramref name="reached"/> accepts, so that the reply follows the events QEMU
    /// sends before it; past the wait the reply goes anyway and the events follow it.
    /// </summary>
    private async Task StatusReachedAsync(string job, long after, Func<string, bool> reached, CancellationToken cancel)
    {
        var deadline = DateTime.UtcNow + _startWait;
        while (DateTime.UtcNow < deadline)
        {
            if (events.Retained().Any(e => e.Sequence > after && e is JobStatusChangeEvent change && change.Id == job && reached(change.Status)))
            {
                return;
            }

            await Task.Delay(2, cancel);
        }
    }

    private async Task<JsonNode> SnapshotAsync(QmpArguments args, CancellationToken cancel)
    {
        var device = args.OptionalString("device") ?? args.OptionalString("node-name")
            ?? throw QmpError.GenericError("Cannot find device='' nor node-name=''");
        var disk = Device(device);
        var format = args.OptionalString("format") ?? "qcow2";
        if (format != "qcow2")
        {
            throw QmpError.GenericError($"Parameter 'format' does not accept value '{format}': this node makes qcow2 overlays only");
        }

        if (args.OptionalString("mode") is { } mode and not "absolute-paths")
        {
            throw QmpError.GenericError($"Parameter 'mode' does not accept value '{mode}': the overlay is always created here");
        }

        var file = args.String("snapshot-file");
        string path;
        try
        {
            path = RequestChecks.InsideStorageRoots(file, "snapshot-file", options.StorageRoots);
        }
        catch (ApiException e)
        {
            throw QmpError.GenericError(e.Message);
        }

        var reply = await engine.AskAsync(new DiskCommands.Snapshot(disk, path), cancel);
        return reply is DiskReplies.DiskInfo or DiskReplies.Done ? new JsonObject() : throw ErrorOf(reply, disk.Value, job: null);
    }

    private async Task<JsonNode> VerbAsync(QmpArguments args, string idField, JobVerb verb, CancellationToken cancel)
    {
        var id = args.String(idField);
        var speed = verb == JobVerb.SetSpeed ? Speed(args, required: true) : 0;
        if (!IdRule.IsValid(id))
        {
            throw new QmpError(QmpError.DeviceNotActive, $"Block job '{id}' not found");
        }

        var before = events.LastSequence;
        var reply = await engine.AskAsync(new ManagerCommands.JobVerbById(new JobId(id), verb, speed), cancel);
        if (reply is not (DiskReplies.JobList or DiskReplies.Done))
        {
            throw ErrorOf(reply, disk: null, job: id);
        }

        // QEMU runs these verbs' state changes before it replies (its job coroutine is entered at once): a resumed
        // job is running, a cancelled one concluded (or gone, with auto-dismiss), a dismissed one gone. A pause and a
        // new speed reply first, as QEMU's do.
        Func<string, bool>? reached = verb switch
        {
            JobVerb.Resume => s => s == "running",
            JobVerb.Cancel => s => s is "concluded" or "null",
            JobVerb.Dismiss => s => s == "null",
            _ => null,
        };
        if (reached is not null)
        {
            await StatusReachedAsync(id, before, reached, cancel);
        }

        return new JsonObject();
    }

    private static long Speed(QmpArguments args, bool required = false)
    {
        var speed = args.OptionalInteger("speed");
        if (speed is null && required)
        {
            throw QmpError.GenericError("Parameter 'speed' is missing");
        }

        return speed is < 0 ? throw QmpError.GenericError("Parameter 'speed' expects a non-negative value") : speed ?? 0;
    }

    private static DiskId Device(string device) =>
        IdRule.IsValid(device) ? new DiskId(device) : throw QmpError.GenericError($"Cannot find device='{device}' nor node-name='{device}'");

    private async Task<IReadOnlyList<string>> ChainOfAsync(DiskId disk, CancellationToken cancel)
    {
        var reply = await engine.AskAsync(new DiskCommands.Show(disk), cancel);
        return reply is DiskReplies.DiskInfo info ? info.Chain : throw ErrorOf(reply, disk.Value, job: null);
    }

    /// <summary>An engine refusal in QMP's terms: an unknown job is DeviceNotActive, an unknown disk QEMU's device error.</summary>
    private static QmpError ErrorOf(object reply, string? disk, string? job)
    {
        if (reply is not DiskReplies.Refused { Error: var error })
        {
            return Unexpected(reply);
        }

        return error.Code switch
        {
            ErrorCodes.NotFound when job is not null => new QmpError(QmpError.DeviceNotActive, $"Block job '{job}' not found"),
            ErrorCodes.NotFound when disk is not null => QmpError.GenericError($"Cannot find device='{disk}' nor node-name='{disk}'"),
            _ => QmpError.GenericError(error.Message),
        };
    }

    private static QmpError Unexpected(object reply) => QmpError.GenericError($"unexpected answer from the engine: {reply.GetType().Name}");
}
