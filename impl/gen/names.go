package gen

// Name lists, separated by spaces; the odd names holding spaces, commas or
// quotes, which need CSV quoting, are listed apart.

const firstNames = `Aaron Abigail Ada Adam Adrian Agnes Aidan Aisha Alan Albert Alejandro Alex
Alexandra Alice Alicia Alison Amanda Amber Amelia Amir Amy Ana Andrea Andrew Angela Anita Ann
Anna Anne Anthony Antonio Arthur Ashley Astrid Audrey Ava Barbara Beatrice Ben Benjamin
Bernard Beth Bethany Bianca Bill Blake Bonnie Brandon Brenda Brian Bridget Brittany Bruce
Bryan Caleb Camila Carl Carla Carlos Carmen Carol Caroline Casey Catherine Cecilia Chad
Charles Charlotte Chelsea Chloe Chris Christian Christina Christopher Cindy Claire Clara
Colin Connor Courtney Craig Cynthia Daisy Dale Dana Daniel Danielle David Dean Deborah Denise
Derek Diana Diego Dominic Donald Donna Dorothy Douglas Dylan Edgar Edith Eduardo Edward Eileen
Elena Eli Elijah Elizabeth Ella Ellen Emily Emma Eric Erica Erin Ethan Eugene Eva Evelyn Fatima
Felix Fernando Fiona Fons Frances Francis Frank Freya Gabriel Gabriela Gary Gavin Gemma George
Georgia Gerald Gina Grace Graham Greg Gwen Hadleigh Hannah Harold Harry Hassan Hazel Heather
Helen Henry Holly Hugo Ian Ines Irene Isaac Isabel Isabella Ivan Jack Jacob Jade James Jamie
Jane Janet Jasmine Jason Javier Jean Jeffrey Jennifer Jeremy Jessica Joan Joel John Jonathan
Jordan Jorge Joseph Joshua Joyce Juan Judith Julia Julian Justin Karen Karl Kate Katherine
Keith Kelly Kenneth Kevin Kim Kyle Laura Lauren Leah Leo Leon Liam Lily Linda Lisa Logan Louis
Lucas Lucy Luis Luke Lydia Madison Maggie Malik Marco Margaret Maria Marie Mark Martha Martin
Mary Mason Matthew Maya Megan Melissa Mia Michael Michelle Miguel Mila Molly Monica Nadia Nancy
Naomi Natalie Nathan Neil Nicholas Nicole Nina Noah Nora Oliver Olivia Omar Oscar Owen Pablo
Pamela Patricia Patrick Paul Paula Peter Philip Priya Rachel Rafael Ralph Raymond Rebecca Riley
Rita Robert Robin Roger Rosa Rose Ruby Ryan Samantha Samuel Sandra Sara Sarah Scott Sean Sebastian
Sergio Sharon Sofia Sophie Stella Stephanie Stephen Steven Susan Tamara Teresa Theo Thomas
Tiffany Timothy Tobias Tom Tracy Tyler Valerie Vanessa Victor Victoria Vincent Violet Walter
Wanda Wendy William Xavier Yasmin Yusuf Zachary Zoe Zoë José Renée Chloé Björn Søren Małgorzata`

const lastNames = `Abbott Acosta Adams Aguilar Alexander Ali Allen Alvarez Anderson Andrews Armstrong
Arnold Austin Bailey Baker Banks Barnes Barrett Bates Bell Bennett Berry Bishop Black Blake
Boyd Bradley Brennan Brooks Brown Bryant Burke Burns Butler Byrne Campbell Carlson Carpenter
Carr Carroll Carter Castillo Chapman Chavez Chen Clark Clarke Cole Coleman Collins Cook Cooper
Cox Crawford Cruz Cunningham Daniels Davidson Davies Davis Dawson Dean Diaz Dixon Douglas Duncan
Dunn Edwards Elliott Ellis Evans Farrell Ferguson Fernandez Fischer Fisher Fleming Flores Ford
Foster Fox Francis Freeman Fuller Garcia Gardner Gibson Gilbert Gomez Gonzalez Gordon Gouthier
Graham Grant Gray Green Griffin Gupta Hall Hamilton Hansen Harper Harris Harrison Hart Harvey
Hawkins Hayes Henderson Henry Hernandez Hill Hoffman Holland Holmes Howard Hudson Hughes Hunt
Hunter Jackson James Jenkins Jensen Johnson Johnston Jones Jordan Kaur Keller Kelly Kennedy
Khan Kim King Klein Knight Kowalski Lambert Lane Larsen Lawrence Lawson Lee Lewis Li Lopez Lynch
Mahedy Marshall Martin Martinez Mason Matthews McCarthy McDonald Meyer Miller Mills Mitchell
Moore Morales Morgan Morris Murphy Murray Myers Nelson Nguyen Nichols Novak Olsen Ortiz Owens
Palmer Park Parker Patel Payne Pearson Perez Perry Peters Peterson Phillips Pierce Porter Powell
Price Quinn Ramirez Ramos Reed Reid Reyes Reynolds Rice Richards Richardson Riley Rivera Roberts
Robertson Robinson Rodriguez Rogers Ross Russell Ryan Sanchez Sanders Santos Schmidt Schneider
Scott Shaw Silva Simmons Simpson Singh Smith Snyder Spencer Stevens Stewart Stone Sullivan
Taylor Thomas Thompson Torres Tucker Turner Walker Wallace Walsh Ward Warren Watson Weaver Webb
Weber Wells West White Williams Wilson Wood Woods Wright Young Zhang Zimmermann O'Brien O'Connor
O'Neil D'Angelo Smith-Jones Müller Núñez Šimek Østergaard`

// Names needing CSV quoting, or holding spaces.
var (
	oddFirstNames = []string{`Robert "Bob"`, "Mary Ann", "Jean-Luc", "Anne Marie"}
	oddLastNames  = []string{"Davis, Jr.", "King, III", "de la Cruz", "van der Berg", "Da Silva"}
)

const domains = `gmail.com yahoo.com outlook.com hotmail.com icloud.com proton.me aol.com
mail.com gmx.de web.de yandex.ru liveinternet.ru diigo.com example.com example.org
fastmail.com zoho.com qq.com naver.com orange.fr free.fr libero.it btinternet.com
comcast.net verizon.net shaw.ca bigpond.com rediffmail.com uol.com.br t-online.de`
