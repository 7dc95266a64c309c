using Akka.Actor;
using Akka.Hosting;
using Microsoft.AspNetCore.Http;
using Orchestrator.Engine;
using Orchestrator.Contracts;

namespace Orchestrator.Node.Api;

/// <summary>Asks the disk manager with the node's request timeout; a timeout becomes a 504, never a hung request.</summary>
public sealed class EngineGateway(IRequiredActor<DiskManagerKey> manager, NodeOptions options)
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
            throw new ApiException(StatusCodes.Status504GatewayTimeout, ErrorCodes.Timeout,
                $"the engine did not answer {message.GetType().Name} within {options.RequestTimeout.TotalSeconds:0.#} s");
        }
    }
}
