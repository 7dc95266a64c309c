namespace Orchestrator.Interop.Tests;

/// <summary>How a test names an image on the command line; QEMU prints names as given, so each spelling is checked.</summary>
public enum PathMode
{
    /// <summary>Bare file name, run from the image's folder.</summary>
    Relative,

    /// <summary>"folder/file", run from the folder's parent: relative backing names must be joined to "folder/".</summary>
    Nested,

    /// <summary>Absolute path, run from "/".</summary>
    Absolute,
}
