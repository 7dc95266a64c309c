using Akka.Actor;
using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Orchestrator.Domain;
using Orchestrator.Engine.Fleet;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Engine;
using Orchestrator.Contracts;
using Orchestrator.Node.Exports;

namespace Orchestrator.Node.Api;

/// <summary>/disks: register, list, show, unregister; live snapshot, stream and block-copy on one disk.</summary>
public static class DiskEndpoints
{
    public static IEndpointRouteBuilder MapDiskEndpoints(this IEndpointRouteBuilder app)
    {
        var disks = app.MapGroup("/disks").WithTags("Disks");

        disks.MapPost("/", RegisterAsync)
            .WithSummary("Register a disk by the path of its active image (the chain below it is discovered)")
            .WithMetadata(new JsonRequestBody(typeof(RegisterDiskRequest)))
            .Produces<DiskView>(StatusCodes.Status201Created)
            .ProducesErrors(StatusCodes.Status400BadRequest, StatusCodes.Status403Forbidden, StatusCodes.Status409Conflict, StatusCodes.Status503ServiceUnavailable);

        disks.MapGet("/", ListAsync)
            .WithSummary("List the registered disks")
            .Produces<DiskSummaryView[]>()
            .ProducesErrors();

        disks.MapGet("/{id}", ShowAsync)
            .WithSummary("A disk's chain, active image first, with each image's size and allocation, and its jobs")
            .Produces<DiskView>()
            .ProducesErrors(StatusCodes.Status404NotFound);

        disks.MapDelete("/{id}", UnregisterAsync)
            .WithSummary("Forget a disk; never deletes files; refused while a job runs on it")
            .Produces<MessageResponse>()
            .ProducesErrors(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);

        disks.MapPost("/{id}/snapshot", SnapshotAsync)
            .WithSummary("Live external snapshot: a new overlay at 'path' becomes the active image")
            .WithMetadata(new JsonRequestBody(typeof(SnapshotRequest)))
            .Produces<DiskView>()
            .ProducesErrors(StatusCodes.Status400BadRequest, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);

        disks.MapPost("/{id}/stream", StreamAsync)
            .WithSummary("block-stream: copy into 'top' (default the active image) what the images above 'base' provide, then back it onto 'base'")
            .WithMetadata(new JsonRequestBody(typeof(StreamJobRequest)))
            .Produces<JobView>(StatusCodes.Status201Created)
            .ProducesErrors(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);

        disks.MapPost("/{id}/block-copy", BlockCopyAsync)
            .WithSummary("Live block copy: snapshot to 'destination', then stream the whole chain into it")
            .WithMetadata(new JsonRequestBody(typeof(BlockCopyJobRequest)))
            .Produces<JobView>(StatusCodes.Status201Created)
            .ProducesErrors(StatusCodes.Status400BadRequest, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);

        return app;
    }

    private static async Task<IResult> RegisterAsync(HttpRequest request, EngineGateway engine, NodeOptions options, HostNbd nbd, CancellationToken cancel)
    {
        var body = await JsonBody.ReadAsync<RegisterDiskRequest>(request, cancel);
        var id = RequestChecks.Id(body.Id, "id");
        var host = RequestChecks.Host(body.Host);

        // Another host's storage roots are its own: it checks the path against them when it opens the chain.
        var path = host is null || host == options.Cluster.NodeName
            ? RequestChecks.InsideStorageRoots(body.Path, "path", options.StorageRoots)
            : RequestChecks.PathText(body.Path, "path");
        var reply = await engine.AskAsync(new DiskCommands.Register(new DiskId(id), path, host), cancel);
        return reply switch
        {
            DiskReplies.DiskInfo info => Results.Created($"/disks/{id}", await DiskView.FromAsync(info, nbd)),
            DiskReplies.Done done => await ShowAfterAsync(engine, nbd, id, done, created: true, cancel),
            _ => ApiResults.Unexpected(reply),
        };
    }

    private static async Task<IResult> ListAsync(EngineGateway engine, CancellationToken cancel)
    {
        var reply = await engine.AskAsync(new ManagerCommands.ListDisks(), cancel);
        return reply is ManagerCommands.DiskList list
            ? Results.Ok(list.Disks.Select(DiskSummaryView.From).OrderBy(d => d.Id, StringComparer.Ordinal).ToArray())
            : ApiResults.Unexpected(reply);
    }

    private static async Task<IResult> ShowAsync(string id, EngineGateway engine, HostNbd nbd, CancellationToken cancel)
    {
        var disk = KnownDiskId(id);
        var reply = await engine.AskAsync(new DiskCommands.Show(disk), cancel);
        return reply is DiskReplies.DiskInfo info ? Results.Ok(await DiskView.FromAsync(info, nbd)) : ApiResults.Unexpected(reply);
    }

    /// <summary>The disk's NBD requests in progress finish first; once it is unregistered, its NBD connections are closed.</summary>
    private static async Task<IResult> UnregisterAsync(string id, EngineGateway engine, DiskExports exports, NbdService nbd, CancellationToken cancel)
    {
        var disk = KnownDiskId(id);
        var reply = await exports.UnregisterAsync(disk, () => engine.AskAsync(new DiskCommands.Unregister(disk), cancel), () => nbd.CloseConnectionsAsync(disk), cancel);
        return reply is DiskReplies.Done done ? Results.Ok(new MessageResponse(done.Message)) : ApiResults.Unexpected(reply);
    }

    private static async Task<IResult> SnapshotAsync(string id, HttpRequest request, EngineGateway engine, NodeOptions options, HostNbd nbd, ActorSystem system,
        CancellationToken cancel)
    {
        var disk = KnownDiskId(id);
        var body = await JsonBody.ReadAsync<SnapshotRequest>(request, cancel);
        var path = await NewImagePathAsync(body.Path, "path", disk, options, system);
        var reply = await engine.AskAsync(new DiskCommands.Snapshot(disk, path), cancel);
        return reply switch
        {
            DiskReplies.DiskInfo info => Results.Ok(await DiskView.FromAsync(info, nbd)),
            DiskReplies.Done done => await ShowAfterAsync(engine, nbd, id, done, created: false, cancel),
            _ => ApiResults.Unexpected(reply),
        };
    }

    private static async Task<IResult> StreamAsync(string id, HttpRequest request, HttpResponse response, EngineGateway engine, EventHub events, CancellationToken cancel)
    {
        var disk = KnownDiskId(id);
        var body = await JsonBody.ReadAsync<StreamJobRequest>(request, cancel);
        var jobId = RequestChecks.OptionalId(body.JobId, "jobId");
        var speed = RequestChecks.Speed(body.Speed);
        var onError = RequestChecks.OnError(body.OnError);
        if (body.BackingFile is { Length: 0 })
        {
            throw ApiException.InvalidParameter("field 'backingFile' must not be empty");
        }

        var backingFile = RequestChecks.OptionalPathText(body.BackingFile, "backingFile");
        var topName = RequestChecks.OptionalPathText(body.Top, "top");
        var baseName = RequestChecks.OptionalPathText(body.Base, "base");
        string? top = null;
        string? @base = null;
        if (topName is not null || baseName is not null)
        {
            var chain = await ChainOfAsync(engine, disk, cancel);
            top = topName is null ? null : ResolveImageName(topName, chain);
            @base = baseName is null ? null : ResolveImageName(baseName, chain);
        }

        var streamRequest = new StreamRequest
        {
            JobId = jobId is null ? null : new JobId(jobId),
            Top = top,
            Base = @base,
            BackingFile = backingFile,
            Speed = speed,
            OnError = onError,
            AutoDismiss = body.AutoDismiss ?? true,
            TraceParent = Activity.Current?.Id,
        };
        return await StartJobAsync(new DiskCommands.Stream(disk, streamRequest), response, engine, events, cancel);
    }

    private static async Task<IResult> BlockCopyAsync(string id, HttpRequest request, HttpResponse response, EngineGateway engine, NodeOptions options, EventHub events,
        ActorSystem system, CancellationToken cancel)
    {
        var disk = KnownDiskId(id);
        var body = await JsonBody.ReadAsync<BlockCopyJobRequest>(request, cancel);
        var destination = await NewImagePathAsync(body.Destination, "destination", disk, options, system);
        var jobId = RequestChecks.OptionalId(body.JobId, "jobId");
        var streamRequest = new StreamRequest
        {
            JobId = jobId is null ? null : new JobId(jobId),
            Speed = RequestChecks.Speed(body.Speed),
            OnError = RequestChecks.OnError(body.OnError),
            AutoDismiss = body.AutoDismiss ?? true,
            TraceParent = Activity.Current?.Id,
        };
        return await StartJobAsync(new DiskCommands.BlockCopy(disk, destination, streamRequest), response, engine, events, cancel);
    }

    /// <summary>
    /// The path of a new image (snapshot overlay, block-copy destination) of the disk: checked against this node's storage
    /// roots when the disk is registered here (or nowhere: the engine then answers that it is not registered). A disk of
    /// another host is sent the path as written, and that host checks it against its own roots when it creates the file.
    /// </summary>
    private static async Task<string> NewImagePathAsync(string? path, string field, DiskId disk, NodeOptions options, ActorSystem system)
    {
        var host = await new DiskDirectory(system).HostOfAsync(disk.Value);
        return host is null || host == options.Cluster.NodeName
            ? RequestChecks.InsideStorageRoots(path, field, options.StorageRoots)
            : RequestChecks.PathText(path, field);
    }

    private static async Task<IResult> StartJobAsync(IDiskCommand command, HttpResponse response, EngineGateway engine, EventHub events, CancellationToken cancel)
    {
        // Read before asking: every event of the new job is published after this sequence.
        var sequence = events.LastSequence;
        var reply = await engine.AskAsync(command, cancel);
        if (reply is not DiskReplies.JobStarted started)
        {
            return ApiResults.Unexpected(reply);
        }

        response.Headers[ApiHeaders.EventSequence] = sequence.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Results.Created($"/jobs/{started.Job.Device}", JobView.From(started.Job));
    }

    private static string ResolveImageName(string name, IReadOnlyList<string> chain) =>
        ChainImageName.TryResolve(name, chain, out var path, out var error)
            ? path
            : throw new ApiException(ApiResults.StatusOf(error.Code), error.Code, error.Message);

    private static async Task<IReadOnlyList<string>> ChainOfAsync(EngineGateway engine, DiskId disk, CancellationToken cancel)
    {
        var reply = await engine.AskAsync(new DiskCommands.Show(disk), cancel);
        return reply switch
        {
            DiskReplies.DiskInfo info => info.Chain,
            DiskReplies.Refused refused => throw new ApiException(ApiResults.StatusOf(refused.Error.Code), refused.Error.Code, refused.Error.Message),
            _ => throw new InvalidOperationException($"unexpected answer to Show: {reply.GetType().Name}"),
        };
    }

    private static async Task<IResult> ShowAfterAsync(EngineGateway engine, HostNbd nbd, string id, DiskReplies.Done done, bool created, CancellationToken cancel)
    {
        var reply = await engine.AskAsync(new DiskCommands.Show(new DiskId(id)), cancel);
        object body = reply is DiskReplies.DiskInfo info ? await DiskView.FromAsync(info, nbd) : new MessageResponse(done.Message);
        return created ? Results.Created($"/disks/{id}", body) : Results.Ok(body);
    }

    /// <summary>An id that cannot have been registered is simply not found (the engine is not asked about it).</summary>
    private static DiskId KnownDiskId(string id)
    {
        try
        {
            return new DiskId(RequestChecks.Id(id, "id"));
        }
        catch (ApiException)
        {
            throw new ApiException(StatusCodes.Status404NotFound, ErrorCodes.NotFound, $"disk '{IdRule.Printable(id)}' is not registered");
        }
    }
}
