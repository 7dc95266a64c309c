using Akka.Actor;
using Akka.Hosting;
using Microsoft.AspNetCore.Http;
using Orchestrator.Engine;
using Orchestrator.Contracts;
using Orchestrator.Node.Hosting;

namespace Orchestrator.Node.Api;

/// <summary>
/// Asks the disk manager with the node's request timeout; a timeout becomes a 504, never a hung request, or a 507 when
/// the data folder filled up meanwhile (the journal write is then what the engine could not finish).
/// </summary>
public sealed class EngineGateway(IRequiredActor<DiskManagerKey> manager, NodeOptions options, DataFolderSpace space)
{
    public async Task<object> AskAsync(object message, CancellationToken cancel)
    {
        var actor = await manager.GetAsync(cancel);
        try
        {
            return await actor.Ask<object>(message, options.RequestTimeout, cancel);
        }
        catch (AskTimeoutException)
        {
            if (space.ShortageMessage() is { } full)
            {
                throw new ApiException(StatusCodes.Status507InsufficientStorage, ErrorCodes.InsufficientStorage, full);
            }

            throw new ApiException(StatusCodes.Status504GatewayTimeout, ErrorCodes.Timeout,
                $"the engine did not answer {message.GetType().Name} within {options.RequestTimeout.TotalSeconds:0.#} s");
        }
    }
}
