package onionwatch.engine;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.cluster.health.ClusterHealthStatus;
import org.opensearch.common.settings.Settings;
import org.opensearch.common.unit.TimeValue;
import org.opensearch.env.Environment;
import org.opensearch.index.reindex.ReindexPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * Real OpenSearch nodes inside one JVM, for onionwatch's tests and benchmarks.
 *
 * <pre>java -cp target/classes:target/lib/* onionwatch.engine.Engine --data DIR --nodes 3 [-E key=value]...</pre>
 *
 * Each node listens on 127.0.0.1 on free ports (HTTP with Netty4) and keeps its data under DIR/node-I.
 * When the cluster is green (yellow for one node) the ports go to DIR/ports.json and "ready" to stdout.
 * Commands on stdin, each answered by one line ("ok ..." or "error ..."):
 * "stop I" closes node I (as if its machine died), "start I" starts it again on the same ports and data,
 * "health" prints the cluster status. End of stdin or SIGTERM closes every node and exits.
 */
public final class Engine {
    static final class EngineNode extends Node {
        EngineNode(Settings settings, Collection<Class<? extends Plugin>> plugins) {
            super(InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), null, () -> settings.get("node.name")),
                  plugins, true);
        }
    }

    private static final List<Class<? extends Plugin>> PLUGINS =
        List.of(Netty4Plugin.class, CommonAnalysisPlugin.class, ReindexPlugin.class);

    private final Path data;
    private final int count;
    private final Map<String, String> extra;
    private final int[] httpPorts;
    private final int[] transportPorts;
    private final Node[] nodes;
    private final PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);

    Engine(Path data, int count, Map<String, String> extra) throws IOException {
        this.data = data;
        this.count = count;
        this.extra = extra;
        this.httpPorts = new int[count];
        this.transportPorts = new int[count];
        this.nodes = new Node[count];
        for (int i = 0; i < count; i++) {
            httpPorts[i] = freePort();
            transportPorts[i] = freePort();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private Settings settings(int i) {
        Settings.Builder builder = Settings.builder()
            .put("cluster.name", "onionwatch-test")
            .put("node.name", "node-" + i)
            .put("path.home", data.resolve("home").toString())
            .put("path.data", data.resolve("node-" + i).toString())
            .put("path.logs", data.resolve("logs").toString())
            .put("network.host", "127.0.0.1")
            .put("http.port", httpPorts[i])
            .put("transport.port", transportPorts[i])
            .put("http.type", "netty4")
            .put("transport.type", "netty4")
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put("node.processors", 2);
        if (count == 1) {
            builder.put("discovery.type", "single-node");
        } else {
            builder.putList("discovery.seed_hosts",
                Arrays.stream(transportPorts).mapToObj(p -> "127.0.0.1:" + p).collect(Collectors.toList()));
            List<String> names = new ArrayList<>();
            for (int n = 0; n < count; n++) {
                names.add("node-" + n);
            }
            builder.putList("cluster.initial_cluster_manager_nodes", names);
        }
        extra.forEach(builder::put);
        return builder.build();
    }

    private void startNode(int i) throws Exception {
        Node node = new EngineNode(settings(i), PLUGINS);
        node.start();
        nodes[i] = node;
    }

    private void stopNode(int i) throws Exception {
        Node node = nodes[i];
        nodes[i] = null;
        if (node != null) {
            node.close();
            node.awaitClose(30, TimeUnit.SECONDS);
        }
    }

    private Node anyNode() {
        for (Node node : nodes) {
            if (node != null) {
                return node;
            }
        }
        throw new IllegalStateException("no node is running");
    }

    private ClusterHealthStatus waitForHealth(int live) {
        ClusterHealthStatus wanted = count == 1 ? ClusterHealthStatus.YELLOW : ClusterHealthStatus.GREEN;
        return anyNode().client().admin().cluster().prepareHealth()
            .setWaitForNodes(Integer.toString(live)).setWaitForStatus(wanted)
            .setTimeout(TimeValue.timeValueSeconds(120)).get().getStatus();
    }

    private void writePorts() throws IOException {
        String json = "{\"http\": " + Arrays.toString(httpPorts) + ", \"transport\": " + Arrays.toString(transportPorts)
            + ", \"pid\": " + ProcessHandle.current().pid() + "}\n";
        Path temporary = data.resolve("ports.json.tmp");
        Files.writeString(temporary, json);
        Files.move(temporary, data.resolve("ports.json"), StandardCopyOption.ATOMIC_MOVE);
    }

    synchronized void stopAll() {
        for (int i = 0; i < count; i++) {
            try {
                stopNode(i);
            } catch (Exception e) {
                System.err.println("node-" + i + " did not stop cleanly: " + e);
            }
        }
    }

    void run() throws Exception {
        List<Thread> starting = new ArrayList<>();
        List<Exception> failures = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            final int n = i;
            Thread thread = new Thread(() -> {
                try {
                    startNode(n);
                } catch (Exception e) {
                    synchronized (failures) {
                        failures.add(e);
                    }
                }
            });
            thread.start();
            starting.add(thread);
        }
        for (Thread thread : starting) {
            thread.join();
        }
        if (!failures.isEmpty()) {
            throw failures.get(0);
        }
        out.println("health " + waitForHealth(count));
        writePorts();
        out.println("ready " + Arrays.toString(httpPorts));
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            String[] words = line.trim().split("\\s+");
            try {
                synchronized (this) {
                    switch (words[0]) {
                        case "stop":
                            stopNode(Integer.parseInt(words[1]));
                            out.println("ok stopped " + words[1]);
                            break;
                        case "start":
                            startNode(Integer.parseInt(words[1]));
                            long live = Arrays.stream(nodes).filter(n -> n != null).count();
                            out.println("ok started " + words[1] + " " + waitForHealth((int) live));
                            break;
                        case "health":
                            out.println("ok " + anyNode().client().admin().cluster().prepareHealth().get().getStatus());
                            break;
                        case "quit":
                            return;
                        default:
                            out.println("error unknown command " + words[0]);
                    }
                }
            } catch (Exception e) {
                out.println("error " + e.toString().replace('\n', ' '));
            }
        }
    }

    public static void main(String[] args) throws Exception {
        Path data = null;
        int count = 1;
        Map<String, String> extra = new TreeMap<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--data": data = Paths.get(args[++i]).toAbsolutePath(); break;
                case "--nodes": count = Integer.parseInt(args[++i]); break;
                case "-E": {
                    String[] pair = args[++i].split("=", 2);
                    extra.put(pair[0], pair[1]);
                    break;
                }
                default:
                    System.err.println("usage: Engine --data DIR [--nodes N] [-E key=value]...");
                    System.exit(2);
            }
        }
        if (data == null) {
            System.err.println("usage: Engine --data DIR [--nodes N] [-E key=value]...");
            System.exit(2);
        }
        // Netty's processor count is JVM-wide and may be set once: several nodes share one JVM here.
        System.setProperty("opensearch.set.netty.runtime.available.processors", "false");
        Files.createDirectories(data.resolve("home"));
        Engine engine = new Engine(data, count, extra);
        Runtime.getRuntime().addShutdownHook(new Thread(engine::stopAll));
        try {
            engine.run();
        } finally {
            engine.stopAll();
        }
        System.exit(0);
    }
}
