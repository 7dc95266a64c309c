global using Orchestrator.Domain.Jobs;
global using Xunit;
global using Xunit.Abstractions;
