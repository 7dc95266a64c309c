-- One database per node, as cluster-config/local-cluster.sh makes them (see the note there).
CREATE DATABASE orchestrator_n1 OWNER orch;
CREATE DATABASE orchestrator_n2 OWNER orch;
CREATE DATABASE orchestrator_n3 OWNER orch;
