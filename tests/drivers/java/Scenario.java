// The driver matrix's scenario (tests/drivers/doc.go) with pgjdbc.
// Usage: java -cp postgresql.jar Scenario.java HOST PORT PREFIX. Prints one
// "ok <step>" line per step and exits non-zero at the first failure.
import java.io.StringReader;
import java.io.StringWriter;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;

public class Scenario {
  static void ok(String step) {
    System.out.println("ok " + step);
  }

  static void check(boolean cond, String what) {
    if (!cond) {
      throw new AssertionError(what);
    }
  }

  public static void main(String[] args) throws Exception {
    String p = args[2];
    String url = "jdbc:postgresql://" + args[0] + ":" + args[1] + "/runnel?user=runnel&sslmode=disable";
    try (Connection c = DriverManager.getConnection(url)) {
      Statement st = c.createStatement();
      st.execute("CREATE STREAM " + p + "_views (userid VARCHAR KEY, pageid VARCHAR, viewtime BIGINT) WITH (kafka_topic='" + p + "_views', partitions=1)");
      ok("create stream");
      try (PreparedStatement ins = c.prepareStatement("INSERT INTO " + p + "_views (userid, pageid, viewtime) VALUES (?, ?, ?)")) {
        Object[][] rows = {{"alice", "home", 100L}, {"bob", "news", 200L}, {"alice", "about", 300L}};
        for (Object[] r : rows) {
          ins.setString(1, (String) r[0]);
          ins.setString(2, (String) r[1]);
          ins.setLong(3, (Long) r[2]);
          ins.executeUpdate();
        }
      }
      ok("insert with parameters");
      st.execute("SET 'auto.offset.reset' = 'earliest'");
      st.execute("CREATE TABLE " + p + "_counts AS SELECT userid, COUNT(*) AS n FROM " + p + "_views GROUP BY userid");
      ok("create table as select");
      try (PreparedStatement pull = c.prepareStatement("SELECT n FROM " + p + "_counts WHERE userid = ?")) {
        pull.setString(1, "alice");
        try (ResultSet rs = pull.executeQuery()) {
          check(rs.next() && rs.getLong(1) == 2 && !rs.next(), "pull query");
        }
      }
      ok("pull query with a parameter");

      // A fetch size with autocommit off reads a portal a row at a time
      // (a push query never ends, so no fetch may ask for more rows than
      // will come).
      c.setAutoCommit(false);
      try (Statement push = c.createStatement()) {
        push.setFetchSize(1);
        List<String> got = new ArrayList<>();
        try (ResultSet rs = push.executeQuery("SELECT userid, viewtime FROM " + p + "_views EMIT CHANGES")) {
          while (got.size() < 3 && rs.next()) {
            got.add(rs.getString(1) + ":" + rs.getLong(2));
          }
        }
        Collections.sort(got);
        check(got.equals(Arrays.asList("alice:100", "alice:300", "bob:200")), "push query through a cursor: " + got);
      }
      c.rollback();
      c.setAutoCommit(true);
      ok("push query through a cursor");

      try (Statement push = c.createStatement()) {
        Thread t = new Thread(() -> {
          try {
            Thread.sleep(500);
            push.cancel();
          } catch (Exception e) {
            throw new RuntimeException(e);
          }
        });
        t.start();
        try {
          push.executeQuery("SELECT * FROM " + p + "_views EMIT CHANGES");
          throw new AssertionError("the push query ended without a cancel");
        } catch (SQLException e) {
          check("57014".equals(e.getSQLState()), "cancel: " + e.getSQLState() + " " + e.getMessage());
        }
        t.join();
      }
      ok("cancel");

      c.setAutoCommit(false);
      try (PreparedStatement ins = c.prepareStatement("INSERT INTO " + p + "_views (userid, pageid, viewtime) VALUES ('carol', ?, 1)")) {
        ins.setString(1, "rolled back");
        ins.executeUpdate();
        c.rollback();
        ins.setString(1, "committed");
        ins.executeUpdate();
        c.commit();
      }
      c.setAutoCommit(true);
      try (ResultSet rs = st.executeQuery("SELECT pageid FROM " + p + "_views WHERE userid = 'carol'")) {
        check(rs.next() && rs.getString(1).equals("committed") && !rs.next(), "transactions");
      }
      ok("rolled-back and committed transactions");

      CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
      copy.copyIn("COPY " + p + "_views (userid, pageid, viewtime) FROM STDIN WITH (FORMAT csv)", new StringReader("dave,copy,10\nerin,copy,20\n"));
      StringWriter out = new StringWriter();
      copy.copyOut("COPY (SELECT userid, viewtime FROM " + p + "_views WHERE pageid = 'copy') TO STDOUT WITH (FORMAT csv)", out);
      List<String> lines = new ArrayList<>(Arrays.asList(out.toString().trim().split("\n")));
      Collections.sort(lines);
      check(lines.equals(Arrays.asList("dave,10", "erin,20")), "copy out: " + lines);
      ok("copy in and out");

      DatabaseMetaData md = c.getMetaData();
      List<String> tables = new ArrayList<>();
      try (ResultSet rs = md.getTables(null, "public", "%", new String[] {"TABLE"})) {
        while (rs.next()) {
          tables.add(rs.getString("TABLE_NAME"));
        }
      }
      check(tables.contains(p + "_views") && tables.contains(p + "_counts"), "getTables: " + tables);
      List<String> cols = new ArrayList<>();
      try (ResultSet rs = md.getColumns(null, "public", p + "_views", "%")) {
        while (rs.next()) {
          cols.add(rs.getString("COLUMN_NAME") + " " + rs.getString("TYPE_NAME") + " " + rs.getInt("DATA_TYPE"));
        }
      }
      check(cols.equals(Arrays.asList("userid text 12", "pageid text 12", "viewtime int8 -5")), "getColumns: " + cols);
      ok("metadata");
    }
  }
}
