return Orchestrator.CrashWriter.WriterMain.Run(args);
