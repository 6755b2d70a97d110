/*
 * Squall's Java action launcher: one JVM per warm container, driven by the Python action proxy.
 *
 *   java <flags from build.launcher_command> SquallLauncher
 *
 * The Python proxy owns /init and /run, the log sentinels and its own failure texts; this program
 * only loads the action and runs it, one request at a time. It starts with the container (a
 * prewarmed one has the JVM up already):
 *
 *   - the first line on stdin is the init, {"dir": ..., "main": ..., "env": {...}}: load
 *     <dir>/action.bin (the jar) with a URLClassLoader, find the class and its entry method
 *     (<main> is "Class" or "Class#method", the method defaulting to "main"), then write one line
 *     to fd 3: {"ok":true} or {"error":"..."} (and exit 1 on error);
 *   - stdin carries requests, one JSON object a line: {"value": {...}, "env": {"__OW_...": "..."}};
 *     the env entries become visible through System.getenv(), the value is passed to the method,
 *     and the result (or an {"error": ...} object) is written to fd 3 as one line of JSON, after
 *     System.out and System.err have been flushed, so an activation's logs precede its response;
 *   - when stdin closes, exit 0. The action's own System.exit ends the JVM (the proxy's "crash").
 *
 * The error texts are those of OpenWhisk's Java runtime (apache/openwhisk-runtime-java, Proxy.java
 * and JarLoader.java), so that an action moved from OpenWhisk reports the same failures.
 */

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

public final class SquallLauncher {
    /** OpenWhisk's prefix for a failure of the runtime itself (bad jar, no class, null result). */
    static final String ERROR = "An error has occurred (see logs for details): ";
    /** OpenWhisk's prefix for an exception thrown by the action's method. */
    static final String INVOKE_ERROR = "An error has occurred while invoking the action (see logs for details): ";
    static final String RESPONSE_CHANNEL = "/dev/fd/3";

    private final Method entry;
    private final Map<String, String> writableEnv = writableEnvironment();
    private final Map<String, String> originalEnv = new HashMap<>(System.getenv());
    private final Set<String> lastEnvKeys = new HashSet<>();

    private SquallLauncher(Method entry) {
        this.entry = entry;
    }

    public static void main(String[] args) {
        warmUpInBackground();
        // The action's logs are UTF-8 whatever the container's locale, and the action cannot read
        // the request stream from under us.
        System.setOut(utf8Stream(FileDescriptor.out));
        System.setErr(utf8Stream(FileDescriptor.err));
        BufferedReader requests = new BufferedReader(
                new InputStreamReader(System.in, StandardCharsets.UTF_8), 1 << 16);
        System.setIn(new ByteArrayInputStream(new byte[0]));

        OutputStream channel;
        try {
            channel = new BufferedOutputStream(new FileOutputStream(RESPONSE_CHANNEL), 1 << 16);
        } catch (IOException e) {
            System.err.println("SquallLauncher: cannot open the response channel " + RESPONSE_CHANNEL + ": " + e);
            System.exit(2);
            return;
        }
        // The JVM starts with the container (a prewarmed one has it up already); the first line
        // is the init: {"dir": <action dir>, "main": "Class[#method]", "env": {...}}.
        Method entry;
        try {
            String first = requests.readLine();
            while (first != null && first.isBlank()) {
                first = requests.readLine();
            }
            if (first == null) {
                System.exit(0);
                return;
            }
            JsonObject init = JsonParser.parseString(first).getAsJsonObject();
            applyInitEnvironment(init.get("env"));
            String dir = init.has("dir") ? init.get("dir").getAsString() : ".";
            String main = init.has("main") ? init.get("main").getAsString() : "main";
            entry = loadEntry(Paths.get(dir, "action.bin"), main);
        } catch (Throwable e) {  // ClassNotFoundException, NoSuchMethodException, a bad class file...
            e.printStackTrace(System.err);
            respond(channel, errorObject(ERROR + e).toString());
            System.exit(1);
            return;
        }
        respond(channel, "{\"ok\":true}");

        SquallLauncher launcher = new SquallLauncher(entry);
        try {
            for (String line; (line = requests.readLine()) != null; ) {
                if (!line.isBlank()) {
                    respond(channel, launcher.run(line));
                }
            }
        } catch (IOException e) {
            System.err.println("SquallLauncher: cannot read the next request: " + e);
            System.exit(1);
        }
        // Explicitly: a thread the action left running must not keep a closed container alive.
        System.exit(0);
    }

    /**
     * Gson's first parse and first write cost about 20 ms of class loading and initialization.
     * Do them on a daemon thread while the main thread loads the jar and while the proxy answers
     * the init and sends the first request, rather than in that request's time. (Class
     * initialization is thread-safe: at worst the first request waits for what is left.)
     */
    private static void warmUpInBackground() {
        Thread warmer = new Thread("squall-warm-up") {  // not a lambda: its bootstrap costs more
            @Override
            public void run() {
                JsonParser.parseString("{\"value\":{\"a\":[1,2.5,true,null,\"\\u00e9\"]},\"env\":{}}").toString();
            }
        };
        warmer.setDaemon(true);
        warmer.start();
    }

    /** The jar's class and its entry method, checked as OpenWhisk's JarLoader checks them. */
    static Method loadEntry(Path jar, String main) throws Exception {
        // As OpenWhisk: "Class#method"; a trailing "#" or a missing method name means "main".
        String[] parts = main.split("#");
        String className = parts.length > 0 ? parts[0] : "";
        String methodName = parts.length > 1 ? parts[1] : "main";
        URLClassLoader loader = new URLClassLoader(new URL[] {jar.toUri().toURL()},
                SquallLauncher.class.getClassLoader());
        // The action may load its own classes through the context class loader (Class.forName
        // with it, ServiceLoader, most frameworks); the action runs on this thread.
        Thread.currentThread().setContextClassLoader(loader);
        Class<?> cls = loader.loadClass(className);
        Method method;
        try {
            method = cls.getMethod(methodName, JsonObject.class);
        } catch (NoSuchMethodException noObjectVariant) {
            // OpenWhisk also takes main(JsonArray) (array input, e.g. in sequences); when neither
            // exists the failure names the JsonObject signature, as OpenWhisk's tests expect.
            try {
                method = cls.getMethod(methodName, JsonArray.class);
            } catch (NoSuchMethodException noArrayVariant) {
                throw noObjectVariant;
            }
        }
        Class<?> returns = method.getReturnType();
        if (!Modifier.isStatic(method.getModifiers())
                || (returns != JsonObject.class && returns != JsonArray.class)) {
            throw new NoSuchMethodException(methodName);
        }
        method.setAccessible(true);  // a public method of a class that is not itself public
        return method;
    }

    /** One request line to one response line. */
    String run(String line) {
        try {
            JsonObject request = JsonParser.parseString(line).getAsJsonObject();
            setEnvironment(request.get("env"));
            JsonElement value = request.get("value");
            if (value == null || value.isJsonNull()) {
                value = new JsonObject();
            }
            Object argument = entry.getParameterTypes()[0].cast(value);
            Object result;
            try {
                result = entry.invoke(null, argument);
            } catch (InvocationTargetException e) {
                Throwable cause = e.getCause();
                cause.printStackTrace(System.err);
                return errorObject(INVOKE_ERROR + cause).toString();
            }
            if (result == null) {
                throw new NullPointerException("The action returned null");
            }
            return result.toString();  // gson escapes control characters: one line
        } catch (Throwable e) {  // a bad request line, a null result, an error in a static initializer
            e.printStackTrace(System.err);
            return errorObject(ERROR + e).toString();
        }
    }

    /**
     * Make the request's env entries (the __OW_ names) what System.getenv() answers, the way
     * OpenWhisk's runtime does: by writing into the map behind the unmodifiable view. Strings and
     * other JSON primitives are taken as text; objects, arrays and nulls are skipped, as there.
     * Unlike OpenWhisk, a name that the previous request set and this one lacks is taken back to
     * the value it had when the JVM started (if any), so nothing leaks from one activation to the
     * next.
     */
    private void setEnvironment(JsonElement env) {
        Map<String, String> vars = new HashMap<>();
        if (env != null && env.isJsonObject()) {
            for (Map.Entry<String, JsonElement> e : env.getAsJsonObject().entrySet()) {
                if (e.getValue().isJsonPrimitive()) {
                    vars.put(e.getKey(), e.getValue().getAsString());
                }
            }
        }
        if (writableEnv == null) {
            return;
        }
        for (String stale : lastEnvKeys) {
            if (!vars.containsKey(stale)) {
                String original = originalEnv.get(stale);
                if (original == null) {
                    writableEnv.remove(stale);
                } else {
                    writableEnv.put(stale, original);
                }
            }
        }
        writableEnv.putAll(vars);
        lastEnvKeys.clear();
        lastEnvKeys.addAll(vars.keySet());
    }

    /** The init's env entries, for the life of the JVM (as the proxy sets them for Python). */
    private static void applyInitEnvironment(JsonElement env) {
        Map<String, String> writable = writableEnvironment();
        if (writable == null || env == null || !env.isJsonObject()) {
            return;
        }
        for (Map.Entry<String, JsonElement> e : env.getAsJsonObject().entrySet()) {
            if (e.getValue().isJsonPrimitive()) {
                writable.put(e.getKey(), e.getValue().getAsString());
            }
        }
    }

    /**
     * The modifiable map behind System.getenv(): a java.util.Collections$UnmodifiableMap over the
     * JDK's ProcessEnvironment, whose field "m" needs --add-opens java.base/java.util=ALL-UNNAMED.
     * Writes into it are seen by System.getenv() and System.getenv(name), and by a process the
     * action starts with a ProcessBuilder whose environment() it asked for (a plain one inherits
     * the JVM's native environment, as in OpenWhisk).
     */
    @SuppressWarnings("unchecked")
    private static Map<String, String> writableEnvironment() {
        Map<String, String> env = System.getenv();
        try {
            Field inner = env.getClass().getDeclaredField("m");
            inner.setAccessible(true);
            return (Map<String, String>) inner.get(env);
        } catch (ReflectiveOperationException | RuntimeException e) {
            System.err.println("SquallLauncher: the action will not see __OW_ variables in its environment"
                    + " (run the JVM with --add-opens java.base/java.util=ALL-UNNAMED): " + e);
            return null;
        }
    }

    /** Flush the action's logs, then write one response line. */
    private static void respond(OutputStream channel, String response) {
        System.out.flush();
        System.err.flush();
        try {
            channel.write(response.getBytes(StandardCharsets.UTF_8));
            channel.write('\n');
            channel.flush();
        } catch (IOException e) {
            // The proxy is gone: nobody is left to answer.
            System.err.println("SquallLauncher: cannot write the response: " + e);
            System.err.flush();
            System.exit(1);
        }
    }

    private static JsonObject errorObject(String text) {
        JsonObject error = new JsonObject();
        error.addProperty("error", text);
        return error;
    }

    private static PrintStream utf8Stream(FileDescriptor fd) {
        return new PrintStream(new BufferedOutputStream(new FileOutputStream(fd), 1 << 13), true,
                StandardCharsets.UTF_8);
    }
}
