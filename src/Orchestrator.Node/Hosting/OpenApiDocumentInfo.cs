using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Orchestrator.Node.Hosting;

/// <summary>Titles the OpenAPI document and declares the bearer token every operation needs.</summary>
public sealed class OpenApiDocumentInfo : IOpenApiDocumentTransformer
{
    private const string Scheme = "bearer";

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info.Title = "Orchestrator node API";
        document.Info.Description = "QEMU-style live block jobs (block-stream, block-copy) on qcow2 chains. "
            + "Job objects use query-block-jobs' field names; GET /events streams QMP events as Server-Sent Events.";
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[Scheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = Scheme,
            Description = "The token in the node's data folder (file 'token', mode 0600).",
        };
        document.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(Scheme, document)] = [] }];
        return Task.CompletedTask;
    }
}
