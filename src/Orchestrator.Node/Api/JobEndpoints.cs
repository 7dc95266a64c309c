using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Orchestrator.Domain;
using Orchestrator.Domain.Disks;
using Orchestrator.Domain.Jobs;
using Orchestrator.Contracts;

namespace Orchestrator.Node.Api;

/// <summary>/jobs: query-block-jobs and the job verbs (pause, resume, cancel, dismiss, set-speed), addressed by job id.</summary>
public static class JobEndpoints
{
    public static IEndpointRouteBuilder MapJobEndpoints(this IEndpointRouteBuilder app)
    {
        var jobs = app.MapGroup("/jobs").WithTags("Jobs");

        jobs.MapGet("/", ListAsync)
            .WithSummary("query-block-jobs over every disk (QEMU's field names)")
            .Produces<JobView[]>()
            .ProducesErrors();

        jobs.MapGet("/{id}", ShowAsync)
            .WithSummary("One job's query-block-jobs entry")
            .Produces<JobView>()
            .ProducesErrors(StatusCodes.Status404NotFound);

        foreach (var verb in new[] { JobVerb.Pause, JobVerb.Resume, JobVerb.Cancel, JobVerb.Dismiss })
        {
            jobs.MapPost($"/{{id}}/{QemuNames.Of(verb)}", (string id, EngineGateway engine, CancellationToken cancel) => VerbAsync(id, verb, 0, engine, cancel))
                .WithName($"job-{QemuNames.Of(verb)}")
                .WithSummary($"block-job-{QemuNames.Of(verb)}; answers the job as it is afterwards (204 once dismissed)")
                .Produces<JobView>()
                .Produces(StatusCodes.Status204NoContent)
                .ProducesErrors(StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
        }

        jobs.MapPost("/{id}/set-speed", SetSpeedAsync)
            .WithSummary("block-job-set-speed: bytes per second, 0 = unlimited; answers the job as it is afterwards")
            .WithMetadata(new JsonRequestBody(typeof(SetSpeedRequest)))
            .Produces<JobView>()
            .ProducesErrors(StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);

        // Not under /jobs: "history" is a valid job id there.
        app.MapGet("/job-history", HistoryAsync).WithTags("Jobs")
            .WithSummary("Jobs that have ended (completed, failed, cancelled) on every host of the fleet, oldest first, from the hosts' durable events in the journal")
            .Produces<FinishedJobView[]>();

        return app;
    }

    private static async Task<IResult> HistoryAsync(Engine.EventHub events, Akka.Actor.ActorSystem system, CancellationToken cancel)
    {
        // This node's own events are journaled before they are delivered: once the log has recovered, they are all read.
        await events.WhenReady(cancel);
        var finished = await Engine.Persistence.FleetJobHistory.ReadAsync(system, cancel);
        return Results.Ok(finished.Select(f => FinishedJobView.From(f.Host, f.Job)).ToArray());
    }

    private static async Task<IResult> ListAsync(EngineGateway engine, CancellationToken cancel)
    {
        var reply = await engine.AskAsync(new ManagerCommands.QueryAllJobs(), cancel);
        return reply is DiskReplies.JobList list
            ? Results.Ok(list.Jobs.Select(JobView.From).ToArray())
            : ApiResults.Unexpected(reply);
    }

    private static async Task<IResult> ShowAsync(string id, EngineGateway engine, CancellationToken cancel)
    {
        var reply = await engine.AskAsync(new ManagerCommands.QueryJob(KnownJobId(id)), cancel);
        return reply switch
        {
            DiskReplies.JobList { Jobs.Count: > 0 } list => Results.Ok(JobView.From(list.Jobs[0])),
            DiskReplies.JobList => throw NotFound(id),
            _ => ApiResults.Unexpected(reply),
        };
    }

    private static async Task<IResult> SetSpeedAsync(string id, HttpRequest request, EngineGateway engine, CancellationToken cancel)
    {
        var job = KnownJobId(id);
        var body = await JsonBody.ReadAsync<SetSpeedRequest>(request, cancel);
        if (body.Speed is null)
        {
            throw ApiException.MissingField("speed");
        }

        return await VerbAsync(job.Value, JobVerb.SetSpeed, RequestChecks.Speed(body.Speed), engine, cancel);
    }

    /// <summary>The job's query-block-jobs entry after the verb; 204 when it is gone (dismiss).</summary>
    private static async Task<IResult> VerbAsync(string id, JobVerb verb, long speed, EngineGateway engine, CancellationToken cancel)
    {
        var reply = await engine.AskAsync(new ManagerCommands.JobVerbById(KnownJobId(id), verb, speed), cancel);
        return reply switch
        {
            DiskReplies.JobList { Jobs.Count: > 0 } list => Results.Ok(JobView.From(list.Jobs[0])),
            DiskReplies.JobList => Results.NoContent(),
            DiskReplies.Done done => Results.Ok(new MessageResponse(done.Message)),
            _ => ApiResults.Unexpected(reply),
        };
    }

    private static JobId KnownJobId(string id)
    {
        try
        {
            return new JobId(RequestChecks.Id(id, "id"));
        }
        catch (ApiException)
        {
            throw NotFound(id);
        }
    }

    private static ApiException NotFound(string id) => new(StatusCodes.Status404NotFound, ErrorCodes.NotFound, $"Block job '{IdRule.Printable(id)}' not found");
}
