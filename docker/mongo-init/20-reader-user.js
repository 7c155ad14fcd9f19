// Runs once, when the mongo service first initialises its data volume (the image's docker-entrypoint-initdb.d),
// as the administrator: creates the read-only user mongo-express signs in with — `read` on the crawler's
// database and nothing else. (On an existing volume, run it once by hand: see docker-compose.yml.)
const fs = require("fs");
const database = process.env.NEWSCRAWLER_DB || "newscrawler";
const user = process.env.MONGO_READER_USER || "reader";
const passwordFile = process.env.MONGO_READER_PASSWORD_FILE || "/run/secrets/mongo_reader_password";
// One trailing newline (as `echo` writes it) is not part of the password; mongo-express reads it the same way.
const password = fs.readFileSync(passwordFile, "utf8").replace(/\r?\n$/, "");
if (!password) {
  throw new Error(`${passwordFile} is empty: put mongo-express's password in it (see docker-compose.yml)`);
}
db.getSiblingDB(database).createUser({
  user: user,
  pwd: password,
  roles: [{ role: "read", db: database }],
});
print(`created MongoDB user ${user} (read on ${database})`);
