// A Java action: compile against Gson, jar it, deploy it with its class as --main:
//   javac -cp "$(squall runtime classpath java)" -d build examples/java/Hello.java
//   jar cf hello.jar -C build .
//   squall action create hello-java hello.jar --main example.Hello
package example;

import com.google.gson.JsonObject;

public class Hello {
    public static JsonObject main(JsonObject args) {
        String name = args.has("name") ? args.get("name").getAsString() : "stranger";
        System.out.println("greeting " + name);
        JsonObject response = new JsonObject();
        response.addProperty("greeting", "Hello " + name);
        return response;
    }
}
