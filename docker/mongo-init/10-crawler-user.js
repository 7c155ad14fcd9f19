// Runs once, when the mongo service first initialises its data volume (the image's docker-entrypoint-initdb.d),
// as the administrator: creates the crawler's own user, with readWrite on the crawler's database and nothing
// else. The crawler never connects as the administrator.
const fs = require("fs");
const database = process.env.NEWSCRAWLER_DB || "newscrawler";
const user = process.env.MONGO_CRAWLER_USER || "newscrawler";
const passwordFile = process.env.MONGO_CRAWLER_PASSWORD_FILE || "/run/secrets/mongo_crawler_password";
// One trailing newline (as `echo` writes it) is not part of the password; newscrawler reads it the same way.
const password = fs.readFileSync(passwordFile, "utf8").replace(/\r?\n$/, "");
if (!password) {
  throw new Error(`${passwordFile} is empty: put the crawler's password in it (see the README)`);
}
db.getSiblingDB(database).createUser({
  user: user,
  pwd: password,
  roles: [{ role: "readWrite", db: database }],
});
print(`created MongoDB user ${user} (readWrite on ${database})`);
